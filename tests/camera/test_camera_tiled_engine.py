"""The one tiled engine (camera.Deblurrer) as eval, demo and the tests use it on float frames: tiled inference
weighs every pixel fully and matches whole-frame inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import k3dn
from k3dn.camera import Deblurrer
from k3dn.errors import PipelineError


class _Mean(nn.Module):
    """A pointwise runner: the mean of the views."""

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return (left + right) / 2


def test_tiling_is_exact_for_a_pointwise_runner() -> None:
    rng = np.random.default_rng(0)
    left, right = rng.random((2, 301, 517, 3), dtype=np.float32)
    deblur = Deblurrer(_Mean(), tile=128, overlap=32)
    assert len(deblur.tiles(301, 517)) > 1
    out = deblur(left, right)
    np.testing.assert_allclose(out, (left + right) / 2, atol=1e-6)


def test_tiled_k3dn_matches_whole_frame_away_from_seams() -> None:
    torch.manual_seed(0)
    model = k3dn.create("tiny").eval()
    rng = np.random.default_rng(1)
    base = rng.random((200, 260, 3), dtype=np.float32)
    left, right = base, np.roll(base, 2, axis=1)
    whole = Deblurrer(model, tile=1024)(left, right)
    tiled = Deblurrer(model, tile=160, overlap=64)(left, right)
    assert tiled.shape == whole.shape == left.shape
    mse = float(np.mean((tiled - whole) ** 2))
    print(f"tiled vs whole-frame PSNR: {10 * np.log10(1 / mse):.1f} dB")
    assert 10 * np.log10(1 / mse) > 30


def test_mismatched_pair_is_rejected() -> None:
    with pytest.raises(PipelineError, match="same size"):
        Deblurrer(_Mean())(np.zeros((32, 32, 3), np.float32), np.zeros((32, 40, 3), np.float32))
