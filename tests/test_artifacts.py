"""The artifact cache reuses a calibrated artifact only if it was made by today's recipe with today's published mix."""

from __future__ import annotations

import json

import pytest

from k3dn.artifacts import _valid, cached_artifact, expected_quantization, recorded_float_layers
from k3dn.camera.runners import path_sha256
from k3dn.errors import ArtifactError
from k3dn.export.common import EXPORT_REVISION
from k3dn.export.weights import model_and_source


def _fake_artifact(folder, name: str, state_sha: str, quantization: dict, revision: int = EXPORT_REVISION):
    """A file with a sidecar like k3dn quantize writes (bytes hashed, weights named)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"not a real model, never opened by the cache check")
    meta = {"sha256": path_sha256(path), "bytes": path.stat().st_size, "weights": {"state_sha256": state_sha},
            "quantization": quantization, "export_revision": revision}
    path.with_name(path.name + ".json").write_text(json.dumps(meta))
    return path


@pytest.mark.parametrize("backend", ["onnx", "executorch"])
def test_a_stale_int8_artifact_is_not_reused(tmp_path, backend) -> None:
    pytest.importorskip("onnx" if backend == "onnx" else "executorch")
    _, info = model_and_source("tiny", None)
    sha = info["state_sha256"]
    expected = expected_quantization(backend, "int8", sha)
    assert expected is not None and expected["scheme"]
    # the shipped weights are the ones calibration/numerics.json was measured on: its mix is what a build uses
    assert expected["float_layers"] == sorted(recorded_float_layers(backend, "int8", sha))
    folder = tmp_path / "artifacts" / sha[:16]
    suffix = {"onnx": "onnx", "executorch": "pte"}[backend]
    name = f"k3dn_tiny_64x64_int8.{suffix}"
    calib = {"pairs": 16}
    current = {**expected, "calibration_set": calib}
    path = _fake_artifact(folder, name, sha, current)
    assert cached_artifact(backend, "int8", (64, 64), cache_dir=tmp_path, build=False) == path
    stale = [{**current, "scheme": expected["scheme"] + " (an older recipe)"},
             {**current, "float_layers": expected["float_layers"] + ["encoder.level0.0"]},
             {**current, "calibration_set": {"pairs": 8}}]
    for quantization in stale:
        _fake_artifact(folder, name, sha, quantization)
        with pytest.raises(ArtifactError, match="no checked"):
            cached_artifact(backend, "int8", (64, 64), cache_dir=tmp_path, build=False)
    # the same weights and recipe, exported by an older toolkit (another program layout): stale too
    for revision in (None, EXPORT_REVISION - 1):
        _fake_artifact(folder, name, sha, current, revision)
        with pytest.raises(ArtifactError, match="no checked"):
            cached_artifact(backend, "int8", (64, 64), cache_dir=tmp_path, build=False)


def test_weights_without_a_published_mix_expect_a_searched_one(tmp_path) -> None:
    """Other weights have no numerics.json mix: a build searches one within the budget, and only a searched
    artifact (whatever layers it kept) is reused, not an all-int8 one."""
    pytest.importorskip("onnx")
    sha = "0" * 64
    expected = expected_quantization("onnx", "int8", sha)
    assert expected["float_layers"] is None and expected["budget_db"] == 0.2
    folder = tmp_path / "artifacts" / sha[:16]
    name = "k3dn_tiny_64x64_int8.onnx"
    base = {"scheme": expected["scheme"], "calibration_set": {"pairs": 16}, "float_layers": ["top"]}
    _fake_artifact(folder, name, sha, {**base, "mixed_precision": None})
    assert not _valid(folder / name, sha, 16, expected)
    path = _fake_artifact(folder, name, sha, {**base, "mixed_precision": {"budget_db": 0.2}})
    assert _valid(path, sha, 16, expected)


def test_a_stale_cache_entry_read_by_a_command_may_be_rebuilt(tmp_path) -> None:
    """Checking a cached artifact reads its sidecar, which marks it as the command's input; a stale one is read only
    to be rejected, so the rebuild must be allowed to replace it (it was refused: OverwriteError)."""
    from k3dn import files
    from k3dn.files import OverwriteError

    sidecar = tmp_path / "a.pte.json"
    sidecar.write_text("{}")
    files.start_command()
    try:
        files.note_input(sidecar)
        with pytest.raises(OverwriteError, match="is an input of this command"):
            files.check_not_input(sidecar)
        files.forget_input(sidecar)
        files.check_not_input(sidecar)
    finally:
        files.end_command()
