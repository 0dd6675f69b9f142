#!/usr/bin/env bash
# Issue 27, item 3 (a training signal for the disparity head): does an auxiliary loss tying a linear readout of the
# disparity features R to the simulator's signed blur map (k3dn/training/disparity_loss.py, --disp-loss-weight)
# help the model, or make the kernel query (Eq. 8) matter?
# Four fine-tunes from the shipped weights, identical but for --disp-loss-weight: "ctl" 0, "disp" 0.1. Two seeds
# each; the same seed gives the same scene stream. The chain's recipe (15 % soft mild pairs, 25 % calibrated
# families, 15 % degraded views, no reblur). Scored pair by pair, each treatment against its own seed's control, on
# the project's synthetic eval set, its mild slice, and the real Canon validation scenes (never used to train, fit
# or choose anything here); then --ablate query on each arm.
# Usage: bash docs/experiments/disparity_supervision.sh [RUNS_DIR] [STEPS]
# PRECISION=bf16 on CPUs with native bf16 (avx512_bf16 / amx_bf16); fp32 elsewhere (bf16 is emulated there).
set -euo pipefail
runs=${1:-runs/dispsup}
steps=${2:-400}
init=${INIT:-k3dn/weights/k3dn_tiny.safetensors}
for arm in ctl disp; do
  for seed in 41 42; do
    weight=0; [ "$arm" = disp ] && weight=0.1
    run="$runs/$arm-s$seed"
    if ! grep -qs "\"step\": $steps," "$run/metrics.jsonl"; then  # not finished: start, or continue
      start=(--init "$init"); [ -f "$run/last.pt" ] && start=(--resume)
      k3dn train "${start[@]}" --out "$run" --steps "$steps" --lr 1e-4 --disp-loss-weight "$weight" \
        --seed "$seed" --threads 1 --workers 0 --precision "${PRECISION:-fp32}" --channels-last --reblur-weight 0 \
        --mild-prob 0.15 --soft-mild --val-every 0 --diag-every 0 --calibrated-prob 0.25 \
        --calibrated-families calibrated_dslr,calibrated_phone --degrade-prob 0.15 > "$run.log" 2>&1 &
    fi
  done
done
wait
models=(--model "shipped=$init")
for run in ctl-s41 disp-s41 ctl-s42 disp-s42; do models+=(--model "$run=$runs/$run/last.safetensors"); done
pairs=(--reference shipped --pair disp-s41:ctl-s41 --pair disp-s42:ctl-s42)
k3dn eval --n 24 --size 256 "${models[@]}" "${pairs[@]}" --json "$runs/eval.json"
k3dn eval --n 24 --size 256 --slice mild "${models[@]}" "${pairs[@]}" --json "$runs/mild.json"
k3dn eval --data real-dp "${models[@]}" "${pairs[@]}" --json "$runs/real-dp.json"
for run in ctl-s41 disp-s41 ctl-s42 disp-s42; do
  k3dn eval --n 24 --size 256 --ablate query --model "$run=$runs/$run/last.safetensors" --json "$runs/ablate-$run.json"
done
