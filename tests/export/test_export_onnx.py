"""`k3dn export --backend onnx` end to end through the CLI: torch.onnx (dynamo) + onnxsim at opset 18, the
sidecar, the parity table and the graph audit (the artifact's match with the float model in ONNX Runtime is
in test_export_backends.py, with the other backends'). Also the CLI's usage errors."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

pytestmark = pytest.mark.export

pytest.importorskip("onnxruntime", reason="ONNX toolchain not installed (pip install -e '.[export]')")
pytest.importorskip("onnxscript", reason="ONNX toolchain not installed (pip install -e '.[export]')")
pytest.importorskip("onnxsim", reason="onnxsim not installed (pip install -e '.[export]')")

from k3dn.cli import main  # noqa: E402
from k3dn.export.onnx import OPSET, audit_onnx  # noqa: E402

MAX_ABS, MIN_PSNR = 1e-4, 60.0  # fp32 budget


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """`k3dn export --backend onnx` once for the module: (exit code, what it printed, output folder)."""
    out = tmp_path_factory.mktemp("onnx")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["export", "--backend", "onnx", "--size", "128x128", "--out", str(out)])
    return rc, buf.getvalue(), out


def test_cli_writes_artifact_sidecar_and_parity_table(cli_run) -> None:
    rc, printed, out = cli_run
    print(printed)
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "k3dn_tiny_128x128_fp32.onnx", "k3dn_tiny_128x128_fp32.onnx.json", "parity_tiny_128x128.txt"]
    assert "[1/1] onnx: ok" in printed and "max|diff|" in printed and "onnx" in printed.splitlines()[-1]
    meta = json.loads((out / "k3dn_tiny_128x128_fp32.onnx.json").read_text())
    assert meta["parity"]["passed"] is True and meta["parity"]["max_abs"] <= MAX_ABS
    assert meta["audit"]["details"]["opset"] == OPSET and meta["toolchain"]["onnxruntime"] != "-"
    assert meta["audit"]["details"]["metadata"]["k3dn.simplifier"].startswith("onnxsim")


def test_onnx_graph_audit(cli_run) -> None:
    _, _, out = cli_run
    audit = audit_onnx(out / "k3dn_tiny_128x128_fp32.onnx")
    print(audit.op_counts)
    assert audit.problems == []
    assert audit.details["opset"] == 18
    assert audit.details["inputs"] == {"left": [1, 3, 128, 128], "right": [1, 3, 128, 128]}
    assert audit.details["outputs"] == {"sharp": [1, 3, 128, 128]}
    assert not {"Gather", "GatherElements", "ScatterND", "DFT", "Reciprocal", "Resize"} & set(audit.op_counts)


@pytest.mark.parametrize("argv, message", [
    (["--size", "100x128"], "multiples of 16"),
    (["--size", "big"], "HxW"),
    (["--size", "128x128", "--weights", "/nonexistent/w.safetensors"], "not found"),
])
def test_cli_usage_errors_exit_2(tmp_path, capsys, argv, message) -> None:
    rc = main(["export", "--backend", "onnx", "--out", str(tmp_path / "o"), *argv])
    assert rc == 2
    assert message in capsys.readouterr().err
