"""benchmarks/arm_parity.sh's Python side: the comparison it judges rows by, its tolerances against the export's
parity budget, and its runtime driver on a real (tiny) ONNX model. The emulated runs themselves are the script's job
(CI runs it; docs/arm.md)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ARM = Path(__file__).resolve().parents[1] / "benchmarks" / "arm"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"arm_{name}", ARM / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


parity = _load("parity")


def test_identical_outputs_compare_as_identical():
    x = np.random.default_rng(0).random((1, 3, 8, 8), dtype=np.float32)
    row = parity.compare(x, x.copy(), 1.0)
    assert row["identical"] and row["max_abs_diff"] == 0 and row["psnr_db"] == float("inf")


def test_fp32_rounding_passes_and_a_wrong_kernel_fails():
    x = np.random.default_rng(1).random((1, 3, 8, 8), dtype=np.float32)
    rounding = np.nextafter(x, np.float32(2), dtype=np.float32)  # one ulp up everywhere
    assert parity.compare(x, rounding, 1.0)["max_abs_diff"] <= parity.TOLERANCE["fp32"]
    wrong = x.copy()
    wrong[0, 1, 4, 4] += 1e-3  # one pixel off by a quarter of an 8-bit code
    assert parity.compare(x, wrong, 1.0)["max_abs_diff"] > parity.TOLERANCE["fp32"]


def test_int8_codes_are_compared_in_codes_and_in_output_units():
    codes = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 16, 16)
    step = 1 / 256
    one_off = codes.copy()
    one_off[0, 0, 3, 3] += 1
    row = parity.compare(codes, one_off, step)
    assert row["max_code_diff"] == 1 and row["max_abs_diff"] == pytest.approx(step)
    assert row["max_abs_diff"] <= parity.TOLERANCE["int8"]
    one_off[0, 0, 5, 5] -= 3
    assert parity.compare(codes, one_off, step)["max_abs_diff"] > parity.TOLERANCE["int8"]


def test_nan_and_shape_mismatch_fail():
    x = np.zeros((1, 3, 4, 4), np.float32)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    assert parity.compare(x, bad, 1.0)["max_abs_diff"] == float("inf")
    assert "error" in parity.compare(x, x[:, :2], 1.0)


def test_tolerances_sit_between_runtime_rounding_and_the_export_budget():
    from k3dn.export.parity import FP32_BUDGET

    worst_x86_runtime_spread = 5.1e-7  # ExecuTorch vs eager, the largest of the three runtimes (docs/arm.md)
    assert 10 * worst_x86_runtime_spread <= parity.TOLERANCE["fp32"] <= FP32_BUDGET.max_abs / 10
    assert parity.TOLERANCE["int8"] == pytest.approx(1 / 255)


def test_py_runner_runs_an_onnx_model_and_reports_features(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    shape = [1, 3, 4, 4]
    graph = helper.make_graph([helper.make_node("Sub", ["left", "right"], ["sharp"])], "g",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("left", "right")],
                              [helper.make_tensor_value_info("sharp", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "m.onnx")
    rng = np.random.default_rng(2)
    left, right = (rng.random(shape, dtype=np.float32) for _ in range(2))
    np.savez(tmp_path / "in.npz", left=left, right=right)
    jobs = [{"backend": "onnx", "artifact": str(tmp_path / "m.onnx"), "inputs": str(tmp_path / "in.npz"),
             "out": str(tmp_path / "out.npy"), "key": "onnx-fp32"}]
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    seconds, features = parity.run_py([sys.executable], jobs, tmp_path / "jobs.json")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), left - right)
    assert set(seconds) == {"onnx-fp32"} and isinstance(features, str)


def test_the_script_refuses_a_python_without_k3dn(tmp_path):
    proc = subprocess.run(["bash", str(ARM.parent / "arm_parity.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": "/usr/bin/false", "HOME": str(tmp_path)})
    assert proc.returncode == 2 and "activate the project's venv" in proc.stderr
