"""Measure the mean-level (tone) shifts quoted in docs/experiments/2026-12-06-real-dp-captures.md,
the model card and tests/network/test_pretrained.py.

    python docs/tone_shift.py [--weights W.safetensors] [--n 24]

Prints the output mean minus the input mean, where the input is B = (B_L + B_R)/2:
- on each real DP crop in docs/real_dp/;
- on the fixed eval set, with the blur applied in linear light and on sRGB values. There it prints
  min / median / max over the pairs for the model, and the same statistics of the ground truth's shift
  (sharp mean minus input mean), which is the physics a deblurred image should follow.
"""

from __future__ import annotations

import argparse

import numpy as np
from make_real_figure import DOCS, PAIRS

from k3dn.camera import Deblurrer
from k3dn.data import make_eval_set
from k3dn.io import read_image
from k3dn.network.weights_io import load_model


def shift(image: np.ndarray, left: np.ndarray, right: np.ndarray) -> float:
    """Mean of `image` minus the mean of the DP input B = (B_L + B_R)/2."""
    return float(image.mean()) - float(((left + right) / 2).mean())


def stats(values: list[float]) -> str:
    return f"min {min(values):+.4f}  median {float(np.median(values)):+.4f}  max {max(values):+.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="safetensors weights (default: the shipped K3DN-Tiny)")
    parser.add_argument("--n", type=int, default=24, help="eval pairs per render (256x256)")
    args = parser.parse_args()
    model = load_model(args.weights)
    deblur = Deblurrer(model)
    for name, label in PAIRS.items():
        left, _ = read_image(DOCS / "real_dp" / f"{name}_left.png")
        right, _ = read_image(DOCS / "real_dp" / f"{name}_right.png")
        print(f"{label:<16} model {shift(deblur(left, right), left, right):+.4f}")
    for render, linear in (("linear", True), ("srgb", False)):
        items = make_eval_set(args.n, (256, 256), linear=linear)
        model_shift = [shift(deblur(i["left"], i["right"]), i["left"], i["right"]) for i in items]
        truth_shift = [shift(i["sharp"], i["left"], i["right"]) for i in items]
        print(f"eval {render:<6} ({len(items)} pairs)  model {stats(model_shift)}")
        print(f"eval {render:<6} ({len(items)} pairs)  truth {stats(truth_shift)}")


if __name__ == "__main__":
    main()
