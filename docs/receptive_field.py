"""The numbers behind the tiling notes of docs/camera.md (shipped K3DN-Tiny, 2 threads):

1. receptive field: how far from one perturbed input pixel (a 0.5 step on the left view of a 384² pair) the
   output moves by more than 1e-3 / 1e-4 / 1e-5 / 0, and whether a far corner moves at all (global pooling);
2. tiled vs whole frame: max |diff| and PSNR of `Deblurrer` with 160-px tiles and 48 px overlap against the
   whole-frame output on a 200x330 eval pair (the case tests/camera/test_camera_deblurrer.py bounds).

    python docs/receptive_field.py
"""

from __future__ import annotations

import numpy as np
import torch

import k3dn
from k3dn.camera import Deblurrer
from k3dn.camera.runners import TorchRunner
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


def tiled_vs_whole(model: torch.nn.Module) -> None:
    item = make_eval_set(n=1, size=(208, 336))[0]
    left, right = item["left"][:200, :330], item["right"][:200, :330]
    runner = TorchRunner(model)
    whole = Deblurrer(runner, tile=1024)(left, right)
    diff = np.abs(Deblurrer(runner, tile=160, overlap=48)(left, right) - whole)
    print(f"tiled (160 px, overlap 48) vs whole frame: max |diff| {diff.max():.4f}, "
          f"PSNR {10 * np.log10(1 / np.mean(diff ** 2)):.1f} dB")


if __name__ == "__main__":
    torch.set_num_threads(2)
    shipped = k3dn.load_pretrained("tiny")
    receptive_field(shipped)
    tiled_vs_whole(shipped)
