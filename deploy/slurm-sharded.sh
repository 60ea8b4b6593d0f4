#!/bin/sh
# A sharded qbench run on Slurm: an array of N shard tasks, then a merge job that runs after all
# of them succeeded (afterok). Usage: deploy/slurm-sharded.sh CONFIG.yaml OUT_DIR [N]
# OUT_DIR must be on a file system every node sees; shard i writes OUT_DIR/shard-i-of-N and the
# merged report lands in OUT_DIR/merged. QBENCH (default: qbench on PATH) is the binary.
set -eu
config=${1:?usage: slurm-sharded.sh CONFIG.yaml OUT_DIR [N]}
out=${2:?usage: slurm-sharded.sh CONFIG.yaml OUT_DIR [N]}
n=${3:-4}
qbench=${QBENCH:-qbench}
mkdir -p "$out"
# Each array task picks its shard from SLURM_ARRAY_TASK_ID / _COUNT (the array must be 0-(N-1)).
array=$(sbatch --parsable --array=0-$((n - 1)) --job-name=qbench-shard --output="$out/slurm-%A_%a.out" \
    ${SBATCH_SHARD_ARGS:-} --wrap="$qbench run '$config' --out '$out'")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:$array --job-name=qbench-merge --output="$out/slurm-merge-%j.out" \
    ${SBATCH_MERGE_ARGS:-} --wrap="$qbench merge '$out' --out '$out/merged'")
echo "shards: job $array (array 0-$((n - 1))), merge: job $merge -> $out/merged/report.json"
