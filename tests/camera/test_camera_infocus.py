"""--skip-in-focus: the DP defocus score separates agreeing views from shifted ones, in-focus tiles pass the mean view
through without running the network, and a tile with defocus in it still runs."""

from __future__ import annotations

import numpy as np
import pytest

from k3dn.camera import Deblurrer
from k3dn.camera.infocus import SKIP_THRESHOLD, defocus_score
from k3dn.camera.runners import Runner
from k3dn.errors import PipelineError


class _Counting(Runner):
    """A stand-in network that is easy to tell from the pass-through: 1 - the mean view; counts its calls."""

    name, precision, thread_safe = "counting", "fp32", True

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def _run(self, left, right):
        self.calls += 1
        return 1 - (left + right) / 2


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.random((h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
    return np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[:h, :w]


def _nchw(v: np.ndarray) -> np.ndarray:
    return v.transpose(2, 0, 1)[None].copy()


def test_score_is_zero_for_agreeing_views_and_grows_with_disparity() -> None:
    img = _texture(128, 128)
    assert defocus_score(_nchw(img), _nchw(img)) == 0.0
    scores = [defocus_score(_nchw(img), _nchw(np.roll(img, d, axis=1))) for d in (1, 2, 4)]
    assert SKIP_THRESHOLD < scores[0] < scores[1] < scores[2]
    noisy = np.clip(img + np.random.default_rng(1).normal(0, 0.01, img.shape).astype(np.float32), 0, 1)
    assert defocus_score(_nchw(img), _nchw(noisy)) < SKIP_THRESHOLD, "sensor noise alone is not defocus"


def test_in_focus_tiles_pass_the_mean_view_and_defocused_ones_run() -> None:
    left = _texture(192, 320)
    right = left.copy()
    right[:, 250:] = np.roll(left, 3, axis=1)[:, 250:]  # disparity at the right edge only
    runner = _Counting()
    deblur = Deblurrer(runner, tile=128, overlap=32, skip_in_focus=SKIP_THRESHOLD)
    stats: dict = {}
    out = deblur(left, right, stats=stats)
    tiles = deblur.tiles(192, 320)
    ran = [t for t in tiles if t.x + t.w > 250]
    assert stats == {"tiles": len(tiles), "skipped": len(tiles) - len(ran)} and runner.calls == len(ran) > 0
    mean = (left + right) / 2
    np.testing.assert_allclose(out[:, :150], mean[:, :150], atol=1e-6)  # covered by skipped tiles only
    np.testing.assert_allclose(out[:, 290:], 1 - mean[:, 290:], atol=1e-6)  # covered by run tiles only
    full = Deblurrer(runner, tile=128, overlap=32)(left, right, stats=stats)
    assert stats["skipped"] == 0 and not np.allclose(full, out)
    with pytest.raises(PipelineError, match="skip_in_focus"):
        Deblurrer(runner, tile=128, skip_in_focus=-1.0)
