"""TorchRunner's default (channels_last) path computes the plain eager NCHW model's function.

Measured max |diff| on the shipped weights: 1.6e-06 at 96x128, 3.7e-06 at 256x256 (float summation order in
oneDNN's NHWC convolutions); the test's tolerance is the export fp32 parity budget, 1e-4.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import k3dn
from k3dn.camera.runners import TorchRunner

TOLERANCE = 1e-4  # export.parity's fp32 budget


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    left = rng.random((1, 3, 96, 128), dtype=np.float32)
    return left, np.ascontiguousarray(np.roll(left, 3, axis=3))


def test_fast_default_matches_plain_eager(pair) -> None:
    model = k3dn.load_pretrained("tiny")
    fast, plain = TorchRunner(model), TorchRunner(model, fast=False)
    assert fast.fast and not plain.fast
    a, b = fast(*pair), plain(*pair)
    diff = float(np.abs(a - b).max())
    print(f"channels_last vs NCHW eager: max|diff| {diff:.2e}")
    assert a.shape == b.shape == pair[0].shape and a.flags["C_CONTIGUOUS"]
    assert diff <= TOLERANCE


def test_fast_runner_leaves_the_callers_module_alone(pair) -> None:
    model = k3dn.load_pretrained("tiny")
    TorchRunner(model)
    convs = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(w.is_contiguous() for w in convs)  # still NCHW: export and training see the module unchanged
