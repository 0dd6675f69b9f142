"""Regenerate docs/real_dp.png: the shipped K3DN-Tiny on real dual-pixel captures (no ground truth).

    python docs/make_real_figure.py [--weights W.safetensors]

Inputs are the crops in docs/real_dp/ (a Canon EOS 5D Mark IV pair and a Google Pixel pair; source and
licence in docs/real_dp/README.md). Each row: the blurry image B = (B_L + B_R)/2 | K3DN-Tiny output.
There is no all-in-focus reference for real captures, so this figure is a look, not a score.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from k3dn.camera import Deblurrer
from k3dn.commands.demo import labelled
from k3dn.io import read_image, write_image
from k3dn.network.weights_io import load_model

DOCS = Path(__file__).resolve().parent
PAIRS = {"canon_00": "Canon 5D IV DP", "pixel_00": "Pixel DP"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="safetensors weights (default: the shipped K3DN-Tiny)")
    parser.add_argument("--out", default=str(DOCS / "real_dp.png"))
    args = parser.parse_args()
    model = load_model(args.weights)
    deblur = Deblurrer(model)
    rows = []
    for name, label in PAIRS.items():
        left, _ = read_image(DOCS / "real_dp" / f"{name}_left.png")
        right, _ = read_image(DOCS / "real_dp" / f"{name}_right.png")
        sharp = deblur(left, right)
        rows.append(labelled([(f"{label}: input (L+R)/2", (left + right) / 2), ("K3DN-Tiny", sharp)]))
    width = max(r.shape[1] for r in rows)
    padded = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows]
    write_image(args.out, np.concatenate(padded, axis=0)[:-4], bits=8)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
