"""Regenerate tests/network/golden/k3dn_tiny_golden.npz after the shipped weights change:

    python tests/network/golden/make_golden.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import k3dn
from k3dn.data import make_eval_set
from k3dn.network.weights_io import PRETRAINED, file_sha256

GOLDEN = Path(__file__).with_name("k3dn_tiny_golden.npz")


def main() -> None:
    item = make_eval_set(n=1, size=(64, 96), seed=4321)[0]
    model = k3dn.load_pretrained("tiny")
    left, right = (torch.from_numpy(item[k]).permute(2, 0, 1)[None] for k in ("left", "right"))
    with torch.no_grad():
        sharp = model(left, right)[0].permute(1, 2, 0).numpy()
    np.savez_compressed(GOLDEN, left=item["left"], right=item["right"], sharp=sharp,
                        weights_sha256=np.array(file_sha256(PRETRAINED["tiny"])))
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
