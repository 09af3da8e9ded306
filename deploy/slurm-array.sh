#!/bin/bash
# A run split into 8 shards, one per task of a Slurm job array:
#   sbatch deploy/slurm-array.sh
# Each task runs `forge run --shard env/8 --resume` (the shard number comes from
# SLURM_ARRAY_TASK_ID; a requeued task continues its own file). When all tasks are done:
#   forge merge runs.jsonl shards/shard-{0..7}.jsonl
#SBATCH --job-name=forge-run
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --time=24:00:00
#SBATCH --output=logs/forge-run-%a.log
#SBATCH --requeue

set -euo pipefail
mkdir -p shards
exec forge run examples/representative.toml \
    --endpoint "${FORGE_ENDPOINT:-http://127.0.0.1:8000}" \
    --streams 1000000 --seed 7 --shard env/8 \
    --out "shards/shard-${SLURM_ARRAY_TASK_ID}.jsonl" --resume \
    --list constitution=principles.txt \
    --set "prompt=Why is the sky blue?" --set min=2 --set max=5 \
    --log-every 60
