"""k3dn.camera.Deblurrer: tiled output equals the whole-frame output, any size/dtype in, same out, thread-safe,
memory bounded by the tile band, and every bad input raises the project's own PipelineError."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import k3dn
from k3dn.camera import Deblurrer
from k3dn.camera.deblurrer import DEFAULT_OVERLAP, TILED_BUDGET_MAX_ABS, TILED_BUDGET_PSNR_DB
from k3dn.camera.runners import TorchRunner
from k3dn.camera.tiling import seam_mask
from k3dn.errors import PipelineError


@pytest.fixture(scope="module")
def small_runner() -> TorchRunner:
    torch.manual_seed(0)
    model = k3dn.create("tiny", **SMALL)
    torch.nn.init.normal_(model.decoder.out.weight, std=0.05)
    return TorchRunner(model)


def _pair(h=70, w=90, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.random((h, w, 3)).astype(np.float32)
    return img, np.roll(img, 2, axis=1)


@pytest.mark.parametrize("index", [0, 1])
def test_tiled_vs_whole_frame_within_the_stated_budget(index) -> None:
    """The default overlap keeps the tiled frame within TILED_BUDGET of the whole-frame output (shipped Tiny, two
    simulated eval pairs, 176-px tiles whose neighbours overlap by exactly the default: the smallest tiles that take
    it, to keep the test fast)."""
    from k3dn.data import make_eval_set

    item = make_eval_set(n=2, size=(288, 400))[index]
    left, right = item["left"][:285, :397], item["right"][:285, :397]  # not a multiple of the stride
    runner = TorchRunner(k3dn.load_pretrained("tiny"))
    whole = Deblurrer(runner, tile=1024)(left, right)
    if index == 0:
        with torch.no_grad():
            direct = runner(left.transpose(2, 0, 1)[None].copy(), right.transpose(2, 0, 1)[None].copy())
        np.testing.assert_array_equal(whole, np.clip(direct[0].transpose(1, 2, 0), 0, 1))
    deblur = Deblurrer(runner, tile=176)
    assert deblur.overlap == DEFAULT_OVERLAP and len(deblur.tiles(285, 397)) == 6
    diff = np.abs(deblur(left, right) - whole)
    psnr = 10 * np.log10(1 / np.mean(diff[seam_mask(deblur.tiles(285, 397), 285, 397)] ** 2))  # over the seams
    assert diff.max() <= TILED_BUDGET_MAX_ABS and psnr >= TILED_BUDGET_PSNR_DB, (diff.max(), psnr)
    assert diff.max() > 0, "tiles see less context than the whole frame: a zero difference means no tiling ran"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_dtype_and_shape_round_trip(small_runner, dtype) -> None:
    left, right = _pair()
    if dtype != np.float32:
        top = np.iinfo(dtype).max
        left, right = ((v * top).round().astype(dtype) for v in (left, right))
    out = Deblurrer(small_runner, tile=64, overlap=16)(left, right)
    assert out.dtype == dtype and out.shape == left.shape


def test_levels_are_applied_and_inverted(small_runner) -> None:
    """A 12-bit capture in 16-bit words with black 256: same result as the rescaled 16-bit frame, same levels out."""
    left, right = _pair()
    codes = [np.round(256 + v * (4095 - 256)).astype(np.uint16) for v in (left, right)]
    out = Deblurrer(small_runner)(*codes, black=256, white=4095)
    assert out.min() >= 256 and out.max() <= 4095
    ref = Deblurrer(small_runner)(*[((c.astype(np.float32) - 256) / (4095 - 256)) for c in codes])
    np.testing.assert_allclose((out.astype(np.float32) - 256) / (4095 - 256), ref, atol=1.0 / (4095 - 256))


def test_gray_needs_the_flag_and_returns_mono(small_runner) -> None:
    left, right = (v.mean(axis=2) for v in _pair())
    with pytest.raises(PipelineError, match="--gray"):
        Deblurrer(small_runner)(left, right)
    out = Deblurrer(small_runner)(left, right, gray=True)
    assert out.shape == left.shape and out.dtype == np.float32


def test_one_deblurrer_from_many_threads(small_runner) -> None:
    class Serial(TorchRunner):
        """A runner that is not thread-safe: records whether two calls ever overlapped."""

        thread_safe = False

        def __init__(self, module):
            super().__init__(module)
            self.inside, self.overlapped = 0, False

        def _run(self, left, right):
            self.inside += 1
            self.overlapped |= self.inside > 1
            time.sleep(0.002)
            out = super()._run(left, right)
            self.inside -= 1
            return out

    runner = Serial(small_runner.module)
    deblur = Deblurrer(runner, tile=64, overlap=16)
    frames = [_pair(96, 130, seed) for seed in range(4)]
    expected = [deblur(*f) for f in frames]
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, deblur(*frames[k % 4]))) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not runner.overlapped, "calls into a runner that is not thread-safe must be serialised"
    for k in range(8):
        np.testing.assert_array_equal(results[k], expected[k % 4])


def test_memory_is_bounded_by_the_tile_band(small_runner) -> None:
    h, w = 1024, 256
    left, right = ((v * 255).astype(np.uint8) for v in _pair(h, w))
    deblur = Deblurrer(small_runner, tile=64, overlap=16)
    tracemalloc.start()
    out = deblur(left, right)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    band = 64 * w * 3 * 4
    frame_float = h * w * 3 * 4  # what converting the whole frame to float32 would cost, once
    assert out.shape == left.shape
    assert peak < out.nbytes + 12 * band < out.nbytes + frame_float, (peak, band)


def test_errors_name_the_problem(small_runner) -> None:
    left, right = _pair()
    d = Deblurrer(small_runner)
    cases = [
        ((left, right[:, :-1]), "same size"),
        ((left, (right * 255).astype(np.uint8)), "float32 but right is uint8"),
        ((left.astype(np.float64), right.astype(np.float64)), "sample type float64"),
        ((np.where(left > 0.5, np.nan, left).astype(np.float32), right), "NaN"),
        ((left[:1, :1], right[:1, :1]), "at least 32x32"),
        ((left[:0], right[:0]), "at least 32x32"),
        ((np.dstack([left, left[..., :1]]), np.dstack([right, right[..., :1]])), "H x W x 3"),
        (([[0.0]], right), "numpy array"),
    ]
    for (a, b), message in cases:
        with pytest.raises(PipelineError, match=message):
            d(a, b)
    with pytest.raises(PipelineError, match="multiple of"):
        Deblurrer(small_runner, tile=100)
    with pytest.raises(PipelineError, match="overlap"):
        Deblurrer(small_runner, tile=64, overlap=40)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=st.integers(0, 80), w=st.integers(0, 80), channels=st.sampled_from([None, 1, 2, 3, 4]),
       dtype=st.sampled_from(["uint8", "uint16", "float32", "float64", "int32"]),
       special=st.sampled_from([None, "nan", "inf", "negative", "huge"]), gray=st.booleans())
def test_property_result_or_pipeline_error(small_runner, h, w, channels, dtype, special, gray) -> None:
    shape = (h, w) if channels is None else (h, w, channels)
    rng = np.random.default_rng(h * 131 + w)
    data = rng.random(shape)
    if dtype in ("uint8", "uint16", "int32"):
        data = data * (255 if dtype == "uint8" else 65535)
    data = data.astype(dtype)
    if special and data.size and data.dtype.kind == "f":
        data.flat[0] = {"nan": np.nan, "inf": np.inf, "negative": -1.0, "huge": 1e9}[special]
    try:
        out = Deblurrer(small_runner, tile=64, overlap=16)(data, data.copy(), gray=gray)
    except PipelineError:
        return
    assert out.shape == data.shape and out.dtype == data.dtype
    if out.dtype.kind == "f":
        assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
