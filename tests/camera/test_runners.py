"""k3dn.camera.runners and the camera pipeline on a real exported artifact: open by suffix, sidecar checks, shape
checks, corrupt files, fixed-size tiling that matches the torch runner, and the one-way import arrows."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL

import k3dn
from k3dn.camera import Deblurrer
from k3dn.camera.runners import TorchRunner, open_runner, sidecar_path
from k3dn.errors import ArtifactError, PipelineError
from k3dn.network.weights_io import save_weights

# The ORT fp32 artifact and the torch model compute the same graph: export.parity's fp32 budget.
FP32_MAX_ABS = 1e-4


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    model = k3dn.create("tiny", **SMALL)
    torch.nn.init.normal_(model.decoder.out.weight, std=0.05)
    return model.eval()


@pytest.fixture(scope="module")
def onnx_artifact(small_model, tmp_path_factory):
    pytest.importorskip("onnxruntime", reason="ONNX toolchain not installed (pip install -e '.[export]')")
    pytest.importorskip("onnxsim", reason="onnxsim not installed (pip install -e '.[export]')")
    from k3dn.export.pipeline import export_backend
    from k3dn.export.weights import state_sha256

    out = tmp_path_factory.mktemp("onnx")
    outcome = export_backend("onnx", small_model, (64, 64), out, {"state_sha256": state_sha256(small_model)})
    assert outcome.status == "ok", outcome.reason
    return outcome.artifact


def test_open_runner_reads_the_sidecar(onnx_artifact) -> None:
    with open_runner(onnx_artifact, threads=1) as run:
        assert run.input_shape == (1, 3, 64, 64) and run.tile_size == (64, 64)
        assert run.precision == "fp32" and run.sidecar["input_size"] == [64, 64] and run.threads == 1
        with pytest.raises(PipelineError, match=r"takes exactly \(1, 3, 64, 64\)"):
            run(np.zeros((1, 3, 32, 64), np.float32), np.zeros((1, 3, 32, 64), np.float32))
        with pytest.raises(PipelineError, match="must be float32"):
            run(np.zeros((1, 3, 64, 64), np.float64), np.zeros((1, 3, 64, 64), np.float64))


def test_fixed_size_artifact_tiles_like_the_torch_runner(onnx_artifact, small_model) -> None:
    rng = np.random.default_rng(0)
    left = rng.random((100, 150, 3)).astype(np.float32)
    right = np.roll(left, 2, axis=1)
    with open_runner(onnx_artifact) as run:
        tiled = Deblurrer(run, overlap=16)(left, right)
        small = Deblurrer(run)(left[:40, :50], right[:40, :50])  # smaller than the tile: reflect-padded
    ref = Deblurrer(TorchRunner(small_model), tile=64, overlap=16)(left, right)
    assert np.abs(tiled - ref).max() <= FP32_MAX_ABS
    padded = [np.pad(v[:40, :50], ((0, 24), (0, 14), (0, 0)), mode="reflect") for v in (left, right)]
    ref_small = Deblurrer(TorchRunner(small_model), tile=64)(*padded)[:40, :50]
    assert small.shape == (40, 50, 3)
    assert np.abs(small - ref_small).max() <= FP32_MAX_ABS
    with pytest.raises(PipelineError, match="takes exactly 64x64"):
        Deblurrer(open_runner(onnx_artifact), tile=128)


def test_tampered_corrupt_and_unknown_artifacts(onnx_artifact, tmp_path) -> None:
    tampered = tmp_path / onnx_artifact.name
    shutil.copy(onnx_artifact, tampered)
    shutil.copy(sidecar_path(onnx_artifact), sidecar_path(tampered))
    with open(tampered, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ArtifactError, match="changed or replaced after export"):
        open_runner(tampered)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"this is not a model")
    with pytest.raises(ArtifactError, match="no sidecar.*unverified"):
        open_runner(corrupt)
    with pytest.raises(ArtifactError, match="cannot load it"):
        open_runner(corrupt, verify=False)
    bad_side = tmp_path / "bad_side.onnx"
    shutil.copy(onnx_artifact, bad_side)
    sidecar_path(bad_side).write_text(json.dumps({"input_size": [128, 128]}))
    with pytest.raises(ArtifactError, match="sidecar"):
        open_runner(bad_side)
    with pytest.raises(ArtifactError, match="unknown artifact type"):
        open_runner(tmp_path)  # a folder without a known suffix
    with pytest.raises(FileNotFoundError):
        open_runner(tmp_path / "missing.pte")


def test_safetensors_opens_a_torch_runner(small_model, tmp_path) -> None:
    path = save_weights(small_model, tmp_path / "w.safetensors")
    run = open_runner(path)
    assert isinstance(run, TorchRunner) and run.input_shape is None
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ArtifactError):
        open_runner(tmp_path / "junk.safetensors")
