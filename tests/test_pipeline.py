"""Tiled inference covers every pixel exactly once in weight and matches whole-frame inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import k3dn
from k3dn.pipeline import deblur_image, tile_starts


@pytest.mark.parametrize("size, tile, overlap", [(1000, 512, 64), (512, 512, 64), (300, 512, 64), (513, 128, 32)])
def test_tiles_cover_the_axis(size: int, tile: int, overlap: int) -> None:
    starts = tile_starts(size, tile, overlap)
    covered = np.zeros(size, dtype=bool)
    for s in starts:
        covered[s:s + tile] = True
    assert covered.all() and starts[0] == 0 and starts[-1] + min(tile, size) == size
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))


def test_tiling_is_exact_for_a_pointwise_runner() -> None:
    rng = np.random.default_rng(0)
    left, right = rng.random((2, 301, 517, 3), dtype=np.float32)
    out = deblur_image(lambda a, b: (a + b) / 2, left, right, tile=128, overlap=32)
    np.testing.assert_allclose(out, (left + right) / 2, atol=1e-6)


def test_tiled_k3dn_matches_whole_frame_away_from_seams() -> None:
    torch.manual_seed(0)
    model = k3dn.create("tiny").eval()
    rng = np.random.default_rng(1)
    base = rng.random((200, 260, 3), dtype=np.float32)
    left, right = base, np.roll(base, 2, axis=1)
    whole = deblur_image(model, left, right, tile=1024)
    tiled = deblur_image(model, left, right, tile=160, overlap=64)
    assert tiled.shape == whole.shape == left.shape
    mse = float(np.mean((tiled - whole) ** 2))
    print(f"tiled vs whole-frame PSNR: {10 * np.log10(1 / mse):.1f} dB")
    assert 10 * np.log10(1 / mse) > 30


def test_mismatched_pair_is_rejected() -> None:
    with pytest.raises(ValueError, match="H x W x 3"):
        deblur_image(lambda a, b: a, np.zeros((32, 32, 3), np.float32), np.zeros((32, 40, 3), np.float32))
