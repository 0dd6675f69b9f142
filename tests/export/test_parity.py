"""Parity machinery (export/parity.py, export/runners.py, export/pipeline.py): the synthetic DP inputs,
PSNR, the budget check, and that a parity failure keeps no artifact. Tolerances are stated per test."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from k3dn.export.common import ToolchainMissing, missing_modules, parse_size, require
from k3dn.export.lower import lower
from k3dn.export.parity import FP32_BUDGET, check_parity, format_table, psnr, synthetic_dp_pair
from k3dn.export.pipeline import check_size, export_backend
from k3dn.export.runners import TorchRunner
from k3dn.export.weights import random_model
from k3dn.network.model import K3DN


def test_synthetic_pair_is_deterministic_and_in_range() -> None:
    a = synthetic_dp_pair(64, 96, seed=3)
    b = synthetic_dp_pair(64, 96, seed=3)
    c = synthetic_dp_pair(64, 96, seed=4)
    for x, y in zip(a, b, strict=True):
        assert x.shape == (1, 3, 64, 96) and x.dtype == np.float32
        assert np.array_equal(x, y)
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert 0 not in x.strides
    assert not np.array_equal(a[0], c[0])


def test_synthetic_pair_is_a_dp_pair_not_noise() -> None:
    """The views share a texture (strongly correlated), differ by a horizontal shift (the best aligning
    shift of the defocused background is not 0), and are identical in the in-focus band."""
    left, right = (v[0].mean(0).astype(np.float64) for v in synthetic_dp_pair(128, 128, seed=0))
    assert np.corrcoef(left.ravel(), right.ravel())[0, 1] > 0.8
    assert np.abs(left - right).mean() > 0.005
    # Neighbouring pixels are correlated (texture), as noise would not be.
    assert np.corrcoef(left[:, 1:].ravel(), left[:, :-1].ravel())[0, 1] > 0.7
    rows = slice(100, 124)  # background, below the in-focus band and the foreground disc

    def err(s: int) -> float:
        return float(np.mean((np.roll(left[rows], s, axis=1) - right[rows])[:, 8:-8] ** 2))

    best = min(range(-4, 5), key=err)
    assert best != 0, [round(err(s), 5) for s in range(-4, 5)]
    band = slice(int(128 * 0.2) - 5, int(128 * 0.2) + 5)
    assert np.abs(left[band, 4:40] - right[band, 4:40]).max() < 0.05  # in focus: only the sensor noise


def test_psnr() -> None:
    a = np.zeros((1, 3, 4, 4), np.float32)
    assert math.isinf(psnr(a, a))
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    assert psnr(a, a + 0.01) == pytest.approx(40.0)


@pytest.fixture(scope="module")
def model() -> K3DN:
    return random_model("tiny", seed=0)


def test_check_parity_passes_the_lowered_model_and_fails_another(model: K3DN) -> None:
    pairs = [synthetic_dp_pair(64, 64, seed=s) for s in (0, 1)]
    reference = TorchRunner(model)
    ok = check_parity(TorchRunner(lower(model), "lowered"), reference, pairs, FP32_BUDGET, "torch")
    print(ok)
    assert ok.passed and ok.max_abs <= 1e-5 and ok.psnr >= 100
    other = check_parity(TorchRunner(random_model("tiny", seed=1)), reference, pairs, FP32_BUDGET, "torch")
    assert other.passed is False and other.max_abs > 1e-4
    table = format_table([{"backend": "torch", "artifact": None, "parity": ok, "status": "ok"}])
    assert "torch" in table and "PSNR" in table


def test_runner_rejects_wrong_inputs(model: K3DN) -> None:
    run = TorchRunner(model)
    left, right = synthetic_dp_pair(32, 32)
    with pytest.raises(ValueError, match="float32"):
        run(left.astype(np.float64), right)
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        run(left[0], right[0])
    with pytest.raises(ValueError, match="differ"):
        run(left, np.concatenate([right, right], axis=-1))
    out = run(left, right)
    assert out.shape == left.shape
    as_torch = run.as_torch()(torch.from_numpy(left), torch.from_numpy(right))
    assert isinstance(as_torch, torch.Tensor) and np.array_equal(as_torch.numpy(), out)


def test_sizes_and_toolchain_helpers(model: K3DN) -> None:
    assert parse_size("128x96") == (128, 96)
    with pytest.raises(ValueError, match="HxW"):
        parse_size("128")
    with pytest.raises(ValueError, match="multiples of 16"):
        check_size(model.config, (100, 128))
    with pytest.raises(ValueError, match=">= 32"):
        check_size(model.config, (16, 128))
    assert missing_modules(["json", "k3dn_no_such_toolchain"]) == ["k3dn_no_such_toolchain"]
    with pytest.raises(ToolchainMissing, match="k3dn_no_such_toolchain not installed"):
        require("somebackend", ["k3dn_no_such_toolchain"])


def _small_model(seed: int) -> K3DN:
    """A narrow K3DN (same operators, fewer channels, 3x3 attention window) that exports in seconds."""
    return random_model("tiny", seed, widths=(8, 8, 16), feat_channels=16, num_kernels=16, enc_blocks=(1, 1, 1, 1),
                        dec_blocks=(1, 1, 1), disp_channels=8, disp_features=8, max_disparity=2, window=3)


def test_a_parity_failure_keeps_no_artifact(tmp_path) -> None:
    """Export the lowering of one model but check it against another: the real ONNX Runtime output
    is outside the budget, so the export fails, writes nothing and leaves an older file as it was (it is replaced
    only by an export that passes)."""
    pytest.importorskip("onnxruntime", reason="ONNX toolchain not installed (pip install -e '.[export]')")
    pytest.importorskip("onnxscript", reason="ONNX toolchain not installed (pip install -e '.[export]')")
    reference, wrong = _small_model(0), _small_model(1)
    stale = tmp_path / "k3dn_tiny_32x32_fp32.onnx"
    stale.write_bytes(b"an older export")
    outcome = export_backend("onnx", reference, (32, 32), tmp_path, lowered=lower(wrong))
    print(outcome.status, outcome.reason)
    assert outcome.status == "failed" and "budget" in outcome.reason
    assert outcome.parity is not None and outcome.parity.passed is False
    assert list(tmp_path.iterdir()) == [stale] and stale.read_bytes() == b"an older export"

    ok = export_backend("onnx", reference, (32, 32), tmp_path)
    assert ok.status == "ok", ok.reason
    assert sorted(p.name for p in tmp_path.iterdir()) == [stale.name, stale.name + ".json"]
