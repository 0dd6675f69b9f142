"""The numbers behind the tiling notes of docs/camera.md and k3dn/camera/deblurrer.py (shipped K3DN-Tiny, 2 threads):

1. receptive field: how far from one perturbed input pixel (a 0.5 step on the left view of a 384² pair) the
   output moves by more than 1e-3 / 1e-4 / 1e-5 / 0, and whether a far corner moves at all (global pooling);
2. tiled vs whole frame per overlap: on two 384x640 simulated eval pairs cut into 224x256 tiles, the max |diff| and
   the PSNR over the seams (every pixel more than one tile covers) against the whole-frame output, beside the
   budget the default overlap must meet (deblurrer.TILED_BUDGET_*).

    python docs/receptive_field.py
"""

from __future__ import annotations

import numpy as np
import torch

import k3dn
from k3dn.camera import Deblurrer
from k3dn.camera.deblurrer import TILED_BUDGET_MAX_ABS, TILED_BUDGET_PSNR_DB
from k3dn.camera.runners import TorchRunner
from k3dn.camera.tiling import seam_mask
from k3dn.data import make_eval_set


def receptive_field(model: torch.nn.Module, size: int = 384) -> None:
    g = torch.Generator().manual_seed(0)
    left = torch.rand(1, 3, size, size, generator=g)
    right = torch.roll(left, 2, -1) * 0.9 + 0.05
    bumped = left.clone()
    bumped[..., size // 2, size // 2] += 0.5
    with torch.no_grad():
        diff = (model(left, right) - model(bumped, right)).abs().amax(1)[0].numpy()
    for thr in (1e-3, 1e-4, 1e-5, 0.0):
        ys, xs = np.nonzero(diff > thr)
        reach = max(np.abs(ys - size // 2).max(), np.abs(xs - size // 2).max()) if len(ys) else 0
        print(f"output moves by more than {thr:g} within {reach} px")
    print(f"far corner (20x20 px) moves by at most {diff[:20, :20].max():g}")


def seam_error(deblur: Deblurrer, left: np.ndarray, right: np.ndarray, whole: np.ndarray) -> tuple[float, float]:
    """(max |diff|, PSNR dB over the pixels more than one tile covers) of `deblur` against the whole frame."""
    seams = seam_mask(deblur.tiles(*left.shape[:2]), *left.shape[:2])
    diff = np.abs(deblur(left, right) - whole)
    return float(diff.max()), float(10 * np.log10(1 / np.mean(diff[seams] ** 2)))


def tiled_vs_whole(model: torch.nn.Module, overlaps=(16, 32, 48, 64, 96)) -> None:
    runner = TorchRunner(model)
    print(f"budget: seam PSNR >= {TILED_BUDGET_PSNR_DB} dB and max |diff| <= {TILED_BUDGET_MAX_ABS}")
    for k, item in enumerate(make_eval_set(n=2, size=(384, 640))):
        left, right = item["left"], item["right"]
        whole = Deblurrer(runner, tile=(384, 640))(left, right)
        for overlap in overlaps:
            worst, psnr = seam_error(Deblurrer(runner, tile=(224, 256), overlap=overlap), left, right, whole)
            print(f"pair {k}, overlap {overlap:3d} px: max |diff| {worst:.4f}, seam PSNR {psnr:.1f} dB", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(2)
    shipped = k3dn.load_pretrained("tiny")
    receptive_field(shipped)
    tiled_vs_whole(shipped)
