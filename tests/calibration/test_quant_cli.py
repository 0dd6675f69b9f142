"""`k3dn quantize` end to end on a small K3DN at 64x64 with a 4-pair calibration set: every int8 artifact
runs in its real runtime (ONNX Runtime, LiteRT; ExecuTorch/XNNPACK in the `slow` run: its int8 lowering
alone takes minutes on 2 cores; CoreML needs macOS) and stays within
MIN_PSNR_VS_FLOAT of the float PyTorch model, the export audits still pass on the int8 graphs, sidecars
carry the precision label, the calibration-set hash and the measured drop, and the numerics file written
by the run has the schema and row structure of the checked-in one. Also the CLI's usage errors."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL_OVERRIDES as SMALL

pytestmark = pytest.mark.export

for module in ("onnxruntime", "onnxscript", "onnxsim", "executorch", "litert_torch", "ai_edge_litert", "coremltools"):
    pytest.importorskip(module, reason=f"{module} not installed (pip install -e '.[export]')")

from k3dn.calibration.calib_set import load_calib_set  # noqa: E402
from k3dn.calibration.report import check_numerics, row_keys  # noqa: E402
from k3dn.cli import main  # noqa: E402
from k3dn.export.parity import parity_pairs, psnr  # noqa: E402
from k3dn.export.runners import RuntimeUnavailable, TorchRunner, open_runner  # noqa: E402
from k3dn.export.weights import model_and_source, random_model  # noqa: E402
from k3dn.network.weights_io import save_weights  # noqa: E402

SIZE = "64x64"
MIN_PSNR_VS_FLOAT = 30.0  # dB, int8 output vs float output on a parity pair the calibration never saw
CHECKED_IN = Path(__file__).resolve().parents[2] / "calibration" / "numerics.json"
ARTIFACTS = {
    ("executorch", "int8"): "k3dn_tiny_64x64_int8.pte",
    ("onnx", "int8"): "k3dn_tiny_64x64_int8.onnx",
    ("tflite", "int8"): "k3dn_tiny_64x64_int8.tflite",
    ("tflite", "int8-dynamic"): "k3dn_tiny_64x64_int8-dynamic.tflite",
    ("coreml", "w8a16"): "k3dn_tiny_64x64_w8a16.mlpackage",
}


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    return str(save_weights(random_model("tiny", 0, **SMALL), tmp_path_factory.mktemp("w") / "small.safetensors"))


FAST = ("onnx", "tflite", "coreml")


def _quantize(out: Path, weights: str, backends: tuple[str, ...]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["quantize", *[a for b in backends for a in ("--backend", b)], "--size", SIZE, "--out", str(out),
                   "--weights", weights, "--calib", "4", "--calib-size", "32", "--eval-n", "2", "--search-n", "1",
                   "--budget-db", "0.2", "--numerics", str(out / "numerics.json"), "--no-progress"])
    return rc, buf.getvalue(), out, backends


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, weights):
    """`k3dn quantize` once for the module: (exit code, printed text, output folder, backends)."""
    return _quantize(tmp_path_factory.mktemp("quant"), weights, FAST)


@pytest.fixture(scope="module")
def cli_run_all(tmp_path_factory, weights):
    return _quantize(tmp_path_factory.mktemp("quant_all"), weights, ("all",))


def _artifacts(backends: tuple[str, ...]) -> dict:
    return {k: v for k, v in ARTIFACTS.items() if "all" in backends or k[0] in backends}


def check_cli_outputs(run) -> None:
    rc, printed, out, backends = run
    print(printed)
    assert rc == 0
    for (backend, precision), name in _artifacts(backends).items():
        assert (out / name).exists(), name
        meta = json.loads((out / f"{name}.json").read_text())
        q = meta["quantization"]
        assert meta["backend"] == backend and meta["precision"] == precision == q["precision"]
        assert q["budget"]["drop_db"] == 0.2 and q["bytes"] == meta["bytes"] > 0
        assert 0 < q["size_ratio"] < 1  # this small model is mostly graph, not weights: see numerics.json for Tiny
        if precision in ("int8", "int8-dynamic") and backend != "coreml":
            assert isinstance(q["eval"]["drop_db"], float)
        if q["mixed_precision"] is not None:  # searched on 1 pair, then confirmed on both eval pairs
            assert q["mixed_precision"]["search_pairs"] == 1 and q["mixed_precision"]["met_on_pairs"] == 2
            assert {s["pairs"] for s in q["mixed_precision"]["steps"]} == {1, 2}
    calib = load_calib_set(next(out.glob("calib_*.npz")))
    for (_, precision), name in _artifacts(backends).items():
        if precision != "int8":
            continue
        meta = json.loads((out / f"{name}.json").read_text())
        assert meta["quantization"]["calibration_set"]["sha256"] == calib.sha256  # one set for every backend
    tfl = json.loads((out / "k3dn_tiny_64x64_int8.tflite.json").read_text())["quantization"]
    assert "top" in tfl["float_layers"] and "1/256" in tfl["float_layers_reason"]
    assert "Quality on make_eval_set" in printed and "layers kept in float" in printed
    assert not list(out.glob(".*tmp*"))
    fresh = json.loads((out / "numerics.json").read_text())
    assert check_numerics(fresh) == []
    assert fresh["command"].startswith("k3dn quantize --backend")
    checked_in = [k for k in row_keys(json.loads(CHECKED_IN.read_text())) if "all" in backends or k[0] in backends]
    assert row_keys(fresh) == checked_in  # a fresh small run reproduces the checked-in file's structure


def test_cli_writes_int8_artifacts_sidecars_and_numerics(cli_run) -> None:
    check_cli_outputs(cli_run)


@pytest.mark.slow
def test_cli_all_backends_with_executorch(cli_run_all, weights) -> None:
    check_cli_outputs(cli_run_all)
    check_runtime(cli_run_all[2], weights, ("executorch", "int8"))
    from k3dn.export.executorch import audit_executorch

    audit = audit_executorch(cli_run_all[2] / ARTIFACTS["executorch", "int8"])
    assert audit.problems == [] and audit.non_delegated == []  # still 100% XNNPACK


def check_runtime(out: Path, weights: str, key: tuple[str, str]) -> None:
    model, _ = model_and_source("tiny", weights)
    reference = TorchRunner(model)
    with open_runner(out / ARTIFACTS[key]) as runner:
        for left, right in parity_pairs(64, 64, seeds=(2,)):
            got, want = runner(left, right), reference(left, right)
            db = psnr(got, want)
            print(f"{key}: PSNR vs float {db:.1f} dB")
            assert got.dtype == np.float32 and got.shape == want.shape
            assert db >= MIN_PSNR_VS_FLOAT
            assert db < 100  # really quantized: not bit-identical to the float model


@pytest.mark.parametrize("key", [k for k in ARTIFACTS if k[0] in ("onnx", "tflite")], ids="/".join)
def test_int8_artifact_runs_in_its_runtime_within_budget(cli_run, weights, key) -> None:
    check_runtime(cli_run[2], weights, key)


def test_coreml_w8_numerics_need_macos(cli_run) -> None:
    out = cli_run[2]
    try:
        runner = open_runner(out / ARTIFACTS["coreml", "w8a16"])
    except RuntimeUnavailable as exc:
        pytest.skip(f"numeric check skipped: {exc}")
    with runner:
        left, right = parity_pairs(64, 64, seeds=(2,))[0]
        assert psnr(runner(left, right), runner(left, right)) > 0


def test_export_audits_pass_on_int8_graphs(cli_run) -> None:
    from k3dn.export.coreml import audit_coreml
    from k3dn.export.onnx import audit_onnx
    from k3dn.export.tflite import audit_tflite

    out = cli_run[2]
    audits = {"onnx": audit_onnx, "tflite": audit_tflite, "coreml": audit_coreml}
    for (backend, _), name in _artifacts(FAST).items():
        audit = audits[backend](out / name)
        print(backend, name, audit.op_counts)
        assert audit.problems == [], (name, audit.problems)
    assert {"QuantizeLinear", "DequantizeLinear"} <= set(audit_onnx(out / ARTIFACTS["onnx", "int8"]).op_counts)
    assert "constexpr_affine_dequantize" in audit_coreml(out / ARTIFACTS["coreml", "w8a16"]).op_counts
    dtypes = audit_tflite(out / ARTIFACTS["tflite", "int8"]).details["dtypes"]
    print("tflite int8", dtypes)
    # Every weight is int8: the decoder's transposed convs used to leave ~0.4 MB of float32 weights.
    assert dtypes["constant_bytes"].get("FLOAT32", 0) < 1024 and dtypes["constant_bytes"]["INT8"] > 0
    assert "TRANSPOSE_CONV" not in dtypes["ops"]
    assert {t for op in ("CONV_2D", "DEPTHWISE_CONV_2D") for t in dtypes["ops"][op]} == {"INT8"}


def test_checked_in_numerics_schema() -> None:
    obj = json.loads(CHECKED_IN.read_text())
    assert check_numerics(obj) == []
    assert {(r["backend"], r["precision"]) for r in obj["rows"]} >= set(ARTIFACTS)
    assert {r["backend"] for r in obj["rows"] if r["precision"] == "fp32"} == {"executorch", "onnx", "tflite", "coreml"}
    for r in obj["rows"]:
        if r["precision"] != "fp32" and r["status"] == "ok":
            assert set(r["budget_pass"]) == {"db", "size"} and r["size_ratio"] is not None


@pytest.mark.parametrize("argv, message", [
    (["--size", "100x128"], "multiples of 16"),
    (["--size", "big"], "HxW"),
    (["--size", "64x64", "--calib", "0"], "--calib"),
    (["--size", "64x64", "--budget-db", "-1"], "--budget-db"),
    (["--size", "64x64", "--calib-set", "/nonexistent/calib.npz"], "--calib-set"),
])
def test_cli_usage_errors_exit_2(tmp_path, capsys, argv, message) -> None:
    rc = main(["quantize", "--backend", "onnx", "--out", str(tmp_path / "o"), *argv])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_cli_unwritable_out_exits_2(tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["quantize", "--backend", "onnx", "--size", "64x64", "--out", str(blocker / "sub")])
    assert rc == 2 and "not writable" in capsys.readouterr().err


def _quantize_without_budget(out: Path, capsys, *extra: str) -> tuple[int, str, dict]:
    rc = main(["quantize", "--backend", "onnx", "--size", SIZE, "--out", str(out), "--calib", "4",
               "--calib-size", "32", "--eval-n", "2", "--search-n", "1", "--no-progress", *extra])
    meta = json.loads((out / ARTIFACTS["onnx", "int8"].replace(".onnx", ".onnx.json")).read_text())
    return rc, capsys.readouterr().err, meta["quantization"]


def test_without_budget_unrecorded_weights_search_within_the_budget(tmp_path, weights, capsys) -> None:
    """No mix is published for these weights: quantize says so and searches one within 0.2 dB, not all-int8."""
    rc, err, q = _quantize_without_budget(tmp_path / "o", capsys, "--weights", weights)
    assert rc == 0
    assert "no int8 mix is recorded for these weights for onnx int8" in err and "0.2 dB" in err
    assert q["mixed_precision"]["budget_db"] == 0.2 and q["budget"]["pass"]["db"]


def test_without_budget_shipped_weights_use_the_published_mix(tmp_path, capsys) -> None:
    rc, err, q = _quantize_without_budget(tmp_path / "o", capsys)
    assert rc == 0 and "onnx int8 use the mix published in numerics.json" in err
    published = next(r for r in json.loads(CHECKED_IN.read_text())["rows"]
                     if r["backend"] == "onnx" and r["precision"] == "int8")
    assert sorted(q["float_layers"]) == sorted(published["float_layers"]) and published["float_layers"]
    assert q["mixed_precision"] is None and "numerics.json" in q["float_layers_reason"]


def test_warm_start_searches_from_the_published_mix(tmp_path, weights, capsys) -> None:
    """--warm-start: the budget search measures numerics.json's mix (published for other weights) first."""
    rc = main(["quantize", "--backend", "onnx", "--size", SIZE, "--out", str(tmp_path / "o"), "--weights", weights,
               "--calib", "4", "--calib-size", "32", "--eval-n", "2", "--search-n", "1", "--budget-db", "5",
               "--warm-start", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 0 and "--warm-start: onnx int8 from [" in err
    sidecar = tmp_path / "o" / ARTIFACTS["onnx", "int8"].replace(".onnx", ".onnx.json")
    q = json.loads(sidecar.read_text())["quantization"]
    published = next(r for r in json.loads(CHECKED_IN.read_text())["rows"]
                     if r["backend"] == "onnx" and r["precision"] == "int8")["float_layers"]
    steps = q["mixed_precision"]["steps"]
    assert sorted(steps[0]["float_layers"]) == sorted(published) and published
    assert q["sensitivity"] == [] and "earlier weights" in q["float_layers_reason"]
    assert main(["quantize", "--backend", "onnx", "--size", SIZE, "--out", str(tmp_path / "p"), "--warm-start"]) == 2
    assert "give --budget-db too" in capsys.readouterr().err
