// Keeps qbench_torch non-empty while its modules grow; holds no code.
