"""fp16 numerics of the exported graph (k3dn.calibration.fp16, `k3dn fp16-check`): the lowered shipped K3DN-Tiny in
PyTorch float16 on the evaluation set stays within the float16 range in every layer and within 45 dB PSNR of fp32,
the stand-in for the fp16 targets (CoreML fp16, ExecuTorch CoreML delegate, ExecuTorch Vulkan fp16) whose runtimes
do not run here. The check itself is shown to fail on a model whose activations leave the float16 range.
"""

from __future__ import annotations

import json

import pytest
import torch
from conftest import SMALL_OVERRIDES

from k3dn.calibration.fp16 import FP16_MAX, MIN_PSNR_DB, format_report, fp16_report
from k3dn.cli import main
from k3dn.data import make_eval_set
from k3dn.export.weights import model_and_source, random_model
from k3dn.network.weights_io import save_weights


def test_shipped_model_runs_in_float16_within_range_and_budget() -> None:
    """2 eval pairs at 64x64 (CPU float16 is slow; `k3dn fp16-check` and the slow test below run more)."""
    model, _ = model_and_source("tiny")
    report = fp16_report(model, make_eval_set(n=2, size=(64, 64)))
    print(format_report(report))
    assert report.passed, report.problems
    assert report.worst_psnr >= MIN_PSNR_DB == 45.0
    assert all(p.fp32_max < FP16_MAX and p.fp16_max < FP16_MAX and not p.nonfinite for p in report.layers)
    names = {p.layer for p in report.layers}  # every part of the graph was seen, not just the output
    assert len(names) > 50 and {"srp", "inverse", "unmix"} <= names and any(n.startswith("decoder.") for n in names)
    assert report.peak.fp32_max > 1.0  # something is measured


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, str]:
    """A small model, and the same model with one layer scaled far beyond the float16 range."""
    folder = tmp_path_factory.mktemp("fp16")
    ok = random_model("tiny", 0, **SMALL_OVERRIDES)
    hot = random_model("tiny", 0, **SMALL_OVERRIDES)
    conv = next(m for m in hot.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        conv.weight.mul_(1e6)
    return {"ok": str(save_weights(ok, folder / "ok.safetensors")),
            "hot": str(save_weights(hot, folder / "hot.safetensors"))}


def test_cli_writes_the_report_and_fails_on_an_overflow(weights, tmp_path, capsys) -> None:
    good, bad = tmp_path / "ok.json", tmp_path / "hot.json"
    assert main(["fp16-check", "--n", "1", "--size", "32x32", "--weights", weights["ok"], "--json", str(good)]) == 0
    assert "PASS" in capsys.readouterr().out.splitlines()[-1]
    report = json.loads(good.read_text())
    assert report["passed"] and report["fp16_max"] == 65504.0 and report["layers"][0]["fp32_max"] > 0
    assert "executorch-vulkan fp16" in report["targets"]

    assert main(["fp16-check", "--n", "1", "--size", "32x32", "--weights", weights["hot"], "--json", str(bad)]) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert "FAIL: float16 overflow" in last
    report = json.loads(bad.read_text())
    assert not report["passed"] and any(p["nonfinite"] or p["fp32_max"] > 65504 for p in report["layers"])


def test_cli_rejects_a_size_off_the_stride(weights, tmp_path, capsys) -> None:
    assert main(["fp16-check", "--size", "30x30", "--weights", weights["ok"], "--json", str(tmp_path / "r.json")]) == 2
    assert "multiples of" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_shipped_model_fp16_on_the_fuller_eval_set() -> None:
    """What docs/export.md records: `k3dn fp16-check` (8 pairs at 128x128)."""
    model, _ = model_and_source("tiny")
    report = fp16_report(model, make_eval_set(n=8, size=(128, 128)))
    print(format_report(report))
    assert report.passed, report.problems
