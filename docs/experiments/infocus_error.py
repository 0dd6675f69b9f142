"""Where the model's error on in-focus pixels (|c| < 0.5 px) sits: near defocused regions or far from them.

Splits each eval pair's in-focus pixels by their distance to the nearest pixel with |c| >= 0.5 px and reports, per
band, the share of pixels, MAE and MSE-based PSNR of the input (B_L + B_R)/2 and of the model.
Usage: python docs/experiments/infocus_error.py [WEIGHTS]   (default: the shipped weights)
"""
import sys

import numpy as np
import torch
from scipy import ndimage

import k3dn
from k3dn.data.datasets import make_eval_set

weights = sys.argv[1] if len(sys.argv) > 1 else None
model = k3dn.load_model(weights) if weights else k3dn.load_model()
model.eval()
bands = [(0, 4), (4, 16), (16, 10**9)]
acc = {b: {"n": 0, "in_abs": 0.0, "in_sq": 0.0, "out_abs": 0.0, "out_sq": 0.0} for b in bands}
for item in make_eval_set(n=24, size=(256, 256)):
    left, right, sharp = (item[k] for k in ("left", "right", "sharp"))
    with torch.no_grad():
        out = model(*(torch.from_numpy(v).permute(2, 0, 1)[None] for v in (left, right)))[0].permute(1, 2, 0).numpy()
    inp = (left + right) / 2
    focus = np.abs(item["radius"]) < 0.5
    dist = ndimage.distance_transform_edt(focus)  # distance to the nearest defocused pixel
    for lo, hi in bands:
        m = focus & (dist > lo) & (dist <= hi)
        if not m.any():
            continue
        a = acc[(lo, hi)]
        a["n"] += int(m.sum())
        for key, img in (("in", inp), ("out", out)):
            d = (img - sharp)[m]
            a[f"{key}_abs"] += float(np.abs(d).sum() / 3)
            a[f"{key}_sq"] += float((d ** 2).sum() / 3)
total = sum(a["n"] for a in acc.values())
print("| distance to defocus | share of in-focus px | input MAE 1e-2 | model MAE 1e-2 | input PSNR | model PSNR |")
print("|---|---:|---:|---:|---:|---:|")
for (lo, hi), a in acc.items():
    n = a["n"]
    name = f"> {lo} px" if hi > 10**8 else f"{lo}-{hi} px"
    print(f"| {name} | {n / total:.1%} | {100 * a['in_abs'] / n:.2f} | {100 * a['out_abs'] / n:.2f} | "
          f"{-10 * np.log10(a['in_sq'] / n):.2f} | {-10 * np.log10(a['out_sq'] / n):.2f} |")
