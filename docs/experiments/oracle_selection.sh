#!/usr/bin/env bash
# Oracle test of per-pixel blur-size selection (k3dn/selection.py): does choosing the right blur size per pixel
# help at all? Two fine-tunes from the shipped weights, identical but for where the selection weights come from:
# the simulator's true blur radius ("oracle") or 1/M everywhere ("uniform"). Same seed, so the same batches.
# Then both are scored pair by pair on the project's eval set (the oracle reads the true radius there too).
# Usage: bash docs/experiments/oracle_selection.sh [RUNS_DIR] [STEPS]
set -euo pipefail
runs=${1:-runs/oracle}
steps=${2:-1000}
radii="select_radii=(0,1.5,3,5,8,12)"
for mode in oracle uniform; do
  if [ ! -f "$runs/$mode/last.safetensors" ] || ! grep -q "\"step\": $steps," "$runs/$mode/metrics.jsonl"; then
    start=(--init k3dn/weights/k3dn_tiny.safetensors); [ -f "$runs/$mode/last.pt" ] && start=(--resume)
    k3dn train "${start[@]}" --out "$runs/$mode" --steps "$steps" --lr 2e-4 --seed 31 \
      --threads 1 --workers 1 --precision bf16 --channels-last --reblur-weight 0 --mild-prob 0.15 --soft-mild \
      --val-every 250 --diag-every 0 --set "$radii" --set select_mode=$mode &
  fi
done
wait
k3dn eval --n 24 --size 256 --reference uniform --model "uniform=$runs/uniform/last.safetensors" \
  --model "oracle=$runs/oracle/last.safetensors" --json "$runs/eval.json"
