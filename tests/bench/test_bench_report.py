"""`k3dn bench` schema, derived numbers, targets, Markdown and PNG, on hand-made timings (nothing is timed)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from k3dn.bench.measure import Timing
from k3dn.bench.profile import summarise_ort_events
from k3dn.bench.report import markdown, plot, results_table
from k3dn.bench.schema import Probe, Result, attach_probes, attach_speedups, targets


def _t(ms: float, n: int = 10) -> Timing:
    return Timing(50.0, 2 * ms, [ms * (1 + 0.01 * i) for i in range(n)], 2, 300.0, 350.0, 420.0, 2)


def _rows() -> list[Result]:
    rows = []
    for size, scale in (((256, 256), 1.0), ((512, 512), 4.0)):
        gmacs = 254.0 * size[0] * size[1] / 1e6
        for key, backend, precision, ms in (("torch-eager", "torch", "fp32", 330), ("onnx-fp32", "onnx", "fp32", 100),
                                            ("onnx-int8", "onnx", "int8", 50), ("tflite-int8", "tflite", "int8", 33)):
            rows.append(Result(key, key, backend, precision, size, threads=2, timing=_t(ms * scale), gmacs=gmacs))
    rows.append(Result("coreml-fp16", "CoreML", "coreml", "fp16", (512, 512), status="skipped",
                       reason="CoreML predictions need macOS, this is Linux"))
    return rows


def _probes() -> list[Probe]:
    return [Probe("torch-conv-fp32", "fp32", "oneDNN", 9.66, timing=_t(40.0)),
            Probe("ort-conv-int8", "int8", "ORT", 9.66, timing=_t(20.0)),
            Probe("xnnpack-conv-fp32", "fp32", "XNNPACK", 9.66, status="skipped", reason="executorch missing")]


def test_timing_statistics() -> None:
    t = Timing(1.0, 2.0, [float(x) for x in range(1, 12)], 2)
    assert t.median_ms == 6.0 and t.p10_ms == pytest.approx(2.0) and t.p90_ms == pytest.approx(10.0)
    assert Timing.from_dict(t.to_dict()) == t


def test_derived_numbers_and_json_round_trip() -> None:
    rows, probes = _rows(), _probes()
    attach_probes(rows, probes)
    attach_speedups(rows, "torch-eager")
    onnx = next(r for r in rows if r.row == "onnx-fp32" and r.size == (256, 256))
    med = onnx.timing.median_ms
    assert onnx.speedup_vs_eager == pytest.approx(330 * 1.045 / med, rel=1e-6)
    assert onnx.ms_per_mp == pytest.approx(med / 0.065536)
    assert onnx.gmac_per_s == pytest.approx(254 * 0.065536 / (med / 1e3))
    assert onnx.probe == "torch-conv-fp32"  # the best measured fp32 probe; the skipped one is ignored
    int8 = next(r for r in rows if r.row == "onnx-int8" and r.size == (256, 256))
    assert int8.probe == "ort-conv-int8"
    assert int8.fraction_of_probe == pytest.approx(int8.gmac_per_s / probes[1].gmac_per_s)
    d = json.loads(json.dumps(onnx.to_dict()))
    assert d["latency"]["runs"] == 10 and d["latency"]["inference_median_ms"] == pytest.approx(med, abs=1e-3)
    assert d["inference_time"] == round(med * 1e3) and d["estimated_peak_memory_range"] == {"min": 350000000,
                                                                                            "max": 420000000}
    back = Result.from_dict(d)
    assert back.timing.runs_ms == pytest.approx(onnx.timing.runs_ms, abs=1e-3) and back.size == (256, 256)


def test_targets_report_met_and_missed_by_how_much() -> None:
    rows, probes = _rows(), _probes()
    attach_probes(rows, probes)
    out = {t["target"]: t for t in targets(rows, probes)}
    fp32 = out["best fp32 >= 80% of the fp32 probe"]
    assert fp32["size"] == [512, 512] and fp32["status"] == "missed" and "missed by" in fp32["detail"]
    assert out["ONNX Runtime int8 faster than ONNX Runtime fp32"]["status"] == "met"
    assert out["best int8 >= 2.5x the fp32 probe"]["value"] == pytest.approx(
        254 * 0.262144 / (33 * 4 * 1.045 / 1e3) / (9.66 / (40 * 1.045 / 1e3)), rel=1e-3)
    assert targets([], probes) == []


def test_markdown_and_plot(tmp_path: Path) -> None:
    rows, probes = _rows(), _probes()
    attach_probes(rows, probes)
    attach_speedups(rows, "torch-eager")
    obj = {"machine": {"cpu": "test cpu", "logical_cores": 2}, "threads": 2, "command": "k3dn bench --quick",
           "created": "now", "model": {"variant": "tiny", "weights": "shipped", "gmac_per_mp": 253.7}, "runs": 10,
           "warmup": 2, "targets": targets(rows, probes), "profiles": []}
    text = markdown(obj, rows, probes)
    assert "| 256×256 | onnx-fp32 | fp32 | 2 |" in text and "skipped: CoreML predictions need macOS" in text
    assert "Peak probes" in text and "Targets:" in text and "missed" in text
    assert results_table([]).count("\n") == 1
    png = plot(rows, tmp_path / "p.png")
    img = cv2.imread(str(png))
    assert img is not None and img.shape[2] == 3 and (img < 250).any()
    assert cv2.imread(str(plot([], tmp_path / "empty.png"))) is not None


def test_ort_profile_summary() -> None:
    ev = [{"cat": "Node", "name": f"n{i}_kernel_time", "dur": 1000, "args": {"op_name": op}}
          for i, op in enumerate(["Conv", "Conv", "Conv", "Mul"] * 2)]
    ev.append({"cat": "Session", "name": "model_run", "dur": 99999})
    s = summarise_ort_events(ev, runs=2)
    assert s["top_ops"][0] == {"op": "Conv", "ms_per_run": 3.0, "share": 0.75, "nodes": 3}
    assert s["total_ms"] == 4.0


def test_verification_block_names_here_emulated_and_never_run(tmp_path: Path) -> None:
    from k3dn.bench.verification import verification, verification_lines

    missing = verification(_rows(), tmp_path / "none.json")
    assert missing["here"]["rows"] == ["onnx-fp32", "onnx-int8", "tflite-int8", "torch-eager"]  # not the skipped one
    assert missing["emulated_aarch64"]["status"] == "not run on this machine"
    assert any("NPU" in t for t in missing["never_run"]) and any("CoreML" in t for t in missing["never_run"])
    arm = {"created": "2026-12-07T15:00:00Z", "qemu": "qemu-aarch64 version 10.0.13", "size": [64, 64],
           "cpus": ["cortex-a53", "max"], "counts": {"PASS": 3, "FAIL": 1, "SKIPPED": 0},
           "rows": [{"backend": "onnx", "precision": "int8", "cpu": c, "status": "PASS"} for c in ("cortex-a53", "max")]
           + [{"backend": "tflite", "precision": "fp32", "cpu": "cortex-a53", "status": "PASS"},
              {"backend": "tflite", "precision": "fp32", "cpu": "max", "status": "FAIL"}]}
    (tmp_path / "arm.json").write_text(json.dumps(arm))
    block = verification(_rows(), tmp_path / "arm.json")
    emu = block["emulated_aarch64"]
    assert emu["status"] == "FAIL" and emu["rows"]["tflite-fp32"] == {"cortex-a53": "PASS", "max": "FAIL"}
    text = verification_lines(block)
    assert "onnx-int8 (PASS)" in text and "tflite-fp32 (FAIL/PASS)" in text and "never run" in text
