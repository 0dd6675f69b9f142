#!/bin/bash
# The U-Net baseline trained on the shipped K3DN-Tiny's stage schedule, so the two can be compared at
# equal steps (see the model card's stage list and the README's "Longer equal budgets" table).
#
# Stage 1 is the README's 1,300-step `runs/unet_baseline` (linear-light data). K3DN's stages 2+3
# (350 linear-only steps stopped at peak lr, then 1,200 mixed steps) are one 1,550-step mixed stage here;
# stages 4-9 repeat K3DN's steps and seeds. Checkpoint after stage k: runs/unet_chain/u<k>/last.safetensors
# (u3 = 2,850 steps, u4 = 5,650, u5 = 8,150, u6 = 10,650, u7 = 13,050, u8 = 15,450, u9 = 18,250).
#
# Run from the repository root: bash docs/unet_equal_budget.sh [RUNS_DIR]. Re-running it continues:
# a finished stage has a DONE marker and is skipped, an unfinished one resumes from its last.pt.
set -euo pipefail
runs=${1:-runs}
prev=$runs/unet_baseline
if [ ! -f "$prev/last.safetensors" ]; then
  k3dn train --arch unet --out "$prev" --steps 1300 --threads 1 --blur-space linear
fi
for spec in u3:1550:0 u4:2800:4 u5:2500:5 u6:2500:6 u7:2400:7 u8:2400:8 u9:2800:9; do
  IFS=: read -r name steps seed <<< "$spec"
  out=$runs/unet_chain/$name
  if [ ! -f "$out/DONE" ]; then
    common=(--arch unet --out "$out" --steps "$steps" --seed "$seed" --threads 2 --workers 2 --val-every 400)
    if [ -f "$out/last.pt" ]; then
      k3dn train "${common[@]}" --resume
    else
      k3dn train "${common[@]}" --init "$prev/last.safetensors"
    fi
    touch "$out/DONE"
  fi
  prev=$out
done
