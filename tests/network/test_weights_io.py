"""Weights load from safetensors only, with clear errors for missing, corrupt and mismatched files."""

from __future__ import annotations

import pytest
import torch

import k3dn
from k3dn.network.weights_io import WeightsError, load_weights, save_weights


def test_round_trip_restores_identical_outputs(tmp_path) -> None:
    torch.manual_seed(0)
    model = k3dn.create("tiny").eval()
    path = save_weights(model, tmp_path / "w.safetensors", {"step": 3})
    loaded = load_weights(path)
    assert not loaded.training
    x = torch.rand(2, 1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x[0], x[1]), loaded(x[0], x[1]))
    assert not list(tmp_path.glob("*.tmp")), "atomic save must not leave temp files"


def test_missing_file(tmp_path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        load_weights(tmp_path / "nope.safetensors")


def test_corrupt_file(tmp_path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00\x01 definitely not safetensors")
    with pytest.raises(WeightsError, match="corrupt"):
        load_weights(bad)


def test_truncated_file(tmp_path) -> None:
    path = save_weights(k3dn.create("tiny"), tmp_path / "w.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="corrupt"):
        load_weights(path)


def test_mismatched_architecture(tmp_path) -> None:
    path = save_weights(k3dn.create("tiny"), tmp_path / "tiny.safetensors")
    with pytest.raises(WeightsError, match="does not match the lightweight model"):
        load_weights(path, k3dn.create("lightweight"))
