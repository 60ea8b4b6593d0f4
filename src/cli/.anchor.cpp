// Keeps qbench_cli non-empty while its subcommands grow; holds no code.
