#!/usr/bin/env bash
# Issue 32's data-only ablation: does the calibrated simulator (k3dn/data/dp_family.py's fitted families, plus
# 8-bit/palette/JPEG-like storage artifacts) help the CURRENT architecture on real captures? Four fine-tunes from
# the shipped weights, identical but for the data: "cal" draws half its pairs from the fitted families and degrades
# 30 % of the views; "ctl" is today's stream. Two seeds each; the same seed gives the same scenes and steps.
# Scored pair by pair, each treatment against its own seed's control, on the project's synthetic eval set (whole
# and mild slice) and on the real Canon validation scenes (never used to train, fit or choose anything here).
# Usage: bash docs/experiments/sim2real_data_ablation.sh [RUNS_DIR] [STEPS]
set -euo pipefail
runs=${1:-runs/abl}
steps=${2:-1000}
for arm in ctl cal; do
  for seed in 1 2; do
    data=(); [ "$arm" = cal ] && data=(--calibrated-prob 0.5 --calibrated-families calibrated_dslr,calibrated_phone
                                       --degrade-prob 0.3)
    run="$runs/$arm-s$seed"
    if ! grep -qs "\"step\": $steps," "$run/metrics.jsonl"; then  # not finished: start, or continue
      start=(--init k3dn/weights/k3dn_tiny.safetensors); [ -f "$run/last.pt" ] && start=(--resume)
      k3dn train "${start[@]}" --out "$run" --steps "$steps" --lr 1e-4 \
        --seed "$seed" --threads 1 --workers 1 --precision bf16 --channels-last --reblur-weight 0 --mild-prob 0.15 \
        --soft-mild --val-every 0 --diag-every 0 "${data[@]}" &
    fi
  done
done
wait
models=(--model "shipped=k3dn/weights/k3dn_tiny.safetensors")
for run in ctl-s1 cal-s1 ctl-s2 cal-s2; do models+=(--model "$run=$runs/$run/last.safetensors"); done
pairs=(--reference shipped --pair cal-s1:ctl-s1 --pair cal-s2:ctl-s2)
k3dn eval --data real-dp "${models[@]}" "${pairs[@]}" --json "$runs/real-dp.json"
k3dn eval --n 24 --size 256 "${models[@]}" "${pairs[@]}" --json "$runs/eval.json"
k3dn eval --n 24 --size 256 --slice mild "${models[@]}" "${pairs[@]}" --json "$runs/mild.json"
