"""Fault injection, artifacts, sidecars and weights: nothing unverified runs, no re-export loses the old artifact,
and no weights file can make the loader build a model its tensors do not describe."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SMALL_OVERRIDES
from injection import fails, pair, run_limited, small_weights, temps
from safetensors.torch import save_file

import k3dn
from k3dn.camera.runners import Runner, open_runner, sidecar_path
from k3dn.errors import ArtifactError, PipelineError
from k3dn.network.weights_io import WeightsError, load_weights

pytestmark = pytest.mark.faults
SIZE = (32, 32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(small model, folder, ONNX artifact) exported once through the real pipeline."""
    pytest.importorskip("onnxruntime", reason="ONNX toolchain not installed (pip install -e '.[export]')")
    pytest.importorskip("onnxsim", reason="onnxsim not installed (pip install -e '.[export]')")
    from k3dn.export.pipeline import export_backend

    torch.manual_seed(0)
    model = k3dn.create("tiny", **SMALL_OVERRIDES).eval()
    out = tmp_path_factory.mktemp("faults_export")
    outcome = export_backend("onnx", model, SIZE, out, {"state_sha256": "0" * 64})
    assert outcome.status == "ok", outcome.reason
    return model, out, outcome.artifact


def test_a_failed_or_interrupted_re_export_keeps_the_working_artifact(exported, monkeypatch) -> None:
    import k3dn.export.pipeline as pipeline
    from k3dn.export.parity import ParityResult

    model, out, artifact = exported
    side = sidecar_path(artifact)
    before = (artifact.read_bytes(), side.read_bytes())
    stale = out / f".{artifact.name}.k3dn-999999999-00000000.tmp.onnx"  # left by a killed export (no such pid)
    stale.write_bytes(b"x" * 1000)

    def failing(runner, reference, pairs, budget, name, inputs=""):
        return ParityResult(name, name, 1.0, 0.0, budget, False, inputs=inputs)

    monkeypatch.setattr(pipeline, "check_parity", failing)
    outcome = pipeline.export_backend("onnx", model, SIZE, out, {"state_sha256": "0" * 64})
    assert outcome.status == "failed" and "budget" in outcome.reason
    assert (artifact.read_bytes(), side.read_bytes()) == before and not temps(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("k3dn.export.onnx.export_onnx", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.export_backend("onnx", model, SIZE, out, {"state_sha256": "0" * 64})
    assert (artifact.read_bytes(), side.read_bytes()) == before and not temps(out)
    with open_runner(artifact) as runner:  # still verified and working
        runner(*(np.random.default_rng(0).random((2, 1, 3, *SIZE), dtype=np.float32)))


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("sha256"), "no sha256"),
    (lambda m: m.update(sha256=""), "'sha256' must be 64"),
    (lambda m: m.pop("bytes"), "no sha256 and bytes"),
    (lambda m: m.update(bytes=5), "says 5"),
    (lambda m: m.update(sha256="a" * 64), "sha256 does not match"),
    (lambda m: m.update(weights="x"), "'weights' must be an object"),
    (lambda m: m.update(input_size=64), "'input_size' must be [H, W]"),
    (lambda m: m.update(sha256=7), "'sha256' must be"),
])
def test_a_sidecar_cannot_switch_verification_off(exported, tmp_path, capsys, change, message) -> None:
    _, _, artifact = exported
    copy = tmp_path / artifact.name
    shutil.copy(artifact, copy)
    meta = json.loads(sidecar_path(artifact).read_text())
    change(meta)
    sidecar_path(copy).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=message.replace("[", r"\[")):
        open_runner(copy)
    if message not in ("no sha256", "'weights' must be an object"):
        return  # the CLI's side of it, for two of them: the same ArtifactError reaches the same error line
    lp, rp = pair(tmp_path)
    fails(capsys, ["deblur", "--left", lp, "--right", rp, "--out", str(tmp_path / "o.png"), "--model", str(copy)],
          message, absent=(tmp_path / "o.png",), folder=tmp_path)


def test_malformed_sidecars_and_missing_ones(exported, tmp_path) -> None:
    _, _, artifact = exported
    copy = tmp_path / artifact.name
    shutil.copy(artifact, copy)
    for text, message in (("{bad", "unreadable sidecar"), ("[1, 2]", "not an object"), ("[" * 100000, "unreadable")):
        sidecar_path(copy).write_text(text)
        with pytest.raises(ArtifactError, match=message):
            open_runner(copy)
    sidecar_path(copy).unlink()
    with pytest.raises(ArtifactError, match="unverified"):
        open_runner(copy)


def test_the_cache_rebuilds_what_its_sidecar_cannot_vouch_for(exported, tmp_path) -> None:
    from k3dn.artifacts import _valid

    _, _, artifact = exported
    copy = tmp_path / artifact.name
    shutil.copy(artifact, copy)
    meta = json.loads(sidecar_path(artifact).read_text())
    sidecar_path(copy).write_text(json.dumps(meta))
    assert _valid(copy, "0" * 64, None)
    for key in ("sha256", "bytes"):
        sidecar_path(copy).write_text(json.dumps({k: v for k, v in meta.items() if k != key}))
        assert not _valid(copy, "0" * 64, None), f"a sidecar without {key} was trusted"
    sidecar_path(copy).write_text(json.dumps(meta))
    with open(copy, "r+b") as f:  # same size, other bytes
        f.seek(100)
        f.write(b"\xff")
    assert not _valid(copy, "0" * 64, None)


def _weights_file(path: Path, config: object, tensors: dict | None = None, arch: str = "k3dn") -> str:
    meta = {"format": "k3dn-weights-v1", "arch": arch,
            "config": config if isinstance(config, str) else json.dumps(config)}
    save_file(tensors or {"w": torch.zeros(2)}, str(path), metadata=meta)
    return str(path)


@pytest.mark.parametrize("config, message", [
    ("{bad", "bad config"),
    ([1, 2], "must be a JSON object"),
    ({"widths": [8, 8, 16], "colour": 1}, "unknown keys"),
    ({"feat_channels": -16, "num_kernels": -16}, "outside"),
    ({"widths": "x"}, "list of 3 integers"),
    ({"min_gain": float("nan")}, "outside"),
    ({"widths": [4096, 4096, 4096], "feat_channels": 4096, "num_kernels": 4096}, "outside"),
])
def test_weights_config_is_typed_and_bounded(tmp_path, capsys, config, message) -> None:
    path = _weights_file(tmp_path / "w.safetensors", config)
    start = time.perf_counter()
    with pytest.raises(WeightsError, match=message):
        load_weights(path)
    assert time.perf_counter() - start < 5
    lp, rp = pair(tmp_path)
    fails(capsys, ["deblur", "--left", lp, "--right", rp, "--out", str(tmp_path / "o.png"), "--backend", "torch",
                   "--weights", path], message, absent=(tmp_path / "o.png",), folder=tmp_path)


def test_config_within_bounds_but_not_the_tensors_builds_nothing(tmp_path) -> None:
    """A 0.5 KB file whose config asks for the largest bounded model: refused from its header, in bounded memory."""
    big = {"widths": [512, 512, 512], "feat_channels": 512, "num_kernels": 512, "enc_blocks": [8, 8, 8, 8],
           "dec_blocks": [8, 8, 8], "disp_channels": 512}
    path = _weights_file(tmp_path / "bomb.safetensors", big)
    assert Path(path).stat().st_size < 2000
    code = ("from k3dn.network.weights_io import WeightsError, load_weights\n"
            f"try:\n    load_weights({path!r})\nexcept WeightsError as exc:\n    print('refused:', exc)\n")
    proc = run_limited(code, mem_gb=3.0, timeout=120)
    assert proc.returncode == 0 and "refused:" in proc.stdout and "does not match" in proc.stdout, proc.stderr
    model = k3dn.create("tiny", **SMALL_OVERRIDES)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state[next(iter(state))] = torch.zeros(3)
    wrong = _weights_file(tmp_path / "wrong.safetensors", json.loads(json.dumps(model.config.__dict__)), state)
    with pytest.raises(WeightsError, match="does not match"):
        load_weights(wrong)


def test_nan_weights_and_nan_outputs_are_errors(tmp_path) -> None:
    model = k3dn.create("tiny", **SMALL_OVERRIDES)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    path = k3dn.save_weights(model, tmp_path / "nan.safetensors")
    with pytest.raises(WeightsError, match="NaN or Inf"):
        load_weights(path)

    class Tampered(Runner):  # an artifact whose graph yields NaN (e.g. a NaN constant patched into it)
        name = "tampered"

        def _run(self, left, right):
            return np.full_like(left, np.nan)

    from k3dn.camera import Deblurrer

    frame = np.zeros((40, 40, 3), np.uint8)
    with pytest.raises(PipelineError, match="NaN or Inf"):
        Deblurrer(Tampered(), tile=32, overlap=0)(frame, frame)


def test_runners_refuse_calls_after_close_and_bad_threads(tmp_path) -> None:
    path = small_weights(tmp_path / "w.safetensors")
    runner = open_runner(path)
    runner.close()
    x = np.zeros((1, 3, 32, 32), np.float32)
    with pytest.raises(PipelineError, match="closed"):
        runner(x, x)
    for threads in (-1, 0, 100000, 2.5):
        with pytest.raises(PipelineError, match="threads"):
            open_runner(path, threads=threads)


def test_weights_symlink_loop_is_one_line(tmp_path, capsys) -> None:
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(loop)
    lp, rp = pair(tmp_path)
    for flag in ("--weights", "--model"):
        fails(capsys, ["deblur", "--left", lp, "--right", rp, "--out", str(tmp_path / "o.png"), "--backend", "torch",
                       flag, str(loop)], "symbolic link", absent=(tmp_path / "o.png",), folder=tmp_path)
