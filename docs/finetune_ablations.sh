#!/usr/bin/env bash
# Issue 18's training ablations in fine-tune form: does each K3DN part earn its cost once the rest of the network
# may adapt to its loss? From the shipped weights, every row trains the same STEPS steps with the same recipe and
# seed, one row with nothing switched off (the control) and one per ablated part (k3dn train --ablate).
#   bash docs/finetune_ablations.sh            # 2 seeds x (control, identity kernels, no SRP), ~35 min on 2 cores
# Score (per seed, paired against that seed's control):
#   k3dn eval --n 24 --size 256 [--render srgb] --reference "control" --model "control=runs/ftabl/control-s21/last.safetensors" \
#     --model "identity kernels=runs/ftabl/kernels-s21/last.safetensors" --model "no SRP=runs/ftabl/srp-s21/last.safetensors"
# A run that exists is resumed (and left alone when finished), so the script continues where it stopped.
set -euo pipefail
INIT=${INIT:-k3dn/weights/k3dn_tiny.safetensors}
OUT=${OUT:-runs/ftabl}
STEPS=${STEPS:-500}
SEEDS=${SEEDS:-21 22}
RECIPE=(--steps "$STEPS" --lr 1e-4 --threads 2 --workers 1 --precision bf16 --channels-last --reblur-weight 0
        --mild-prob 0.15 --soft-mild --val-every 0 --diag-every 0)
for seed in $SEEDS; do
  for row in control kernels srp; do
    out="$OUT/$row-s$seed"
    ablate=()
    [ "$row" != control ] && ablate=(--ablate "$row")
    if [ -f "$out/last.pt" ]; then start=(--resume); else start=(--init "$INIT"); fi
    echo "== $out"
    k3dn train --out "$out" --seed "$seed" "${RECIPE[@]}" "${ablate[@]}" "${start[@]}"
  done
done
