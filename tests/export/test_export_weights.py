"""Which weights `k3dn export` uses (export/weights.py): a safetensors file, strictly loaded, with its
architecture from the file's metadata when present; else the shipped file; else random-seed-0."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch
from safetensors.torch import save_file

from k3dn.export.weights import model_and_source, random_model, shipped_weights, state_sha256


def test_random_model_is_seeded_and_has_no_all_zero_layer() -> None:
    a, b, c = random_model("tiny", 0), random_model("tiny", 0), random_model("tiny", 1)
    assert state_sha256(a) == state_sha256(b) != state_sha256(c)
    assert a.decoder.out.weight.abs().sum() > 0  # the zero-initialised head is re-drawn


def test_default_weights_are_shipped_or_random_seed_0() -> None:
    model, info = model_and_source("tiny")
    if shipped_weights("tiny") is None:
        assert info["source"] == "random-seed-0"
        assert info["state_sha256"] == state_sha256(random_model("tiny", 0))
    else:
        assert info["source"] == "shipped:k3dn/weights/k3dn_tiny.safetensors" and info["file_sha256"]
    assert not model.training


def test_weights_file_is_loaded_strictly_with_its_config(tmp_path) -> None:
    src = random_model("tiny", 3, widths=(16, 32, 64), feat_channels=64, num_kernels=64)
    state = {k: v.contiguous() for k, v in src.state_dict().items()}
    with_cfg = tmp_path / "with_config.safetensors"
    save_file(state, str(with_cfg), metadata={"config": json.dumps(asdict(src.config))})
    model, info = model_and_source("tiny", with_cfg)
    assert model.config == src.config
    assert info["state_sha256"] == state_sha256(src) and len(info["file_sha256"]) == 64
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x, x), src(x, x))

    bare = tmp_path / "bare.safetensors"  # no config: the variant's architecture, which does not match
    save_file(state, str(bare))
    with pytest.raises(ValueError, match="does not match the tiny model"):
        model_and_source("tiny", bare)
    with pytest.raises(FileNotFoundError):
        model_and_source("tiny", tmp_path / "missing.safetensors")


def test_export_loads_the_function_k3dn_loads(tmp_path) -> None:
    """Regression: export.weights once built its own model from the file's config and defaulted psf_gain to the
    new "multiply", while k3dn.network.weights_io ran the shipped (legacy) file as "divide": every export and int8
    artifact computed another function (0.037 max |diff|, 46 dB) and passed parity against that same model."""
    from k3dn.network.weights_io import load_pretrained, load_weights

    legacy = random_model("tiny", 5, widths=(16, 32, 64), feat_channels=64, num_kernels=64, psf_gain="divide")
    cfg = {k: v for k, v in asdict(legacy.config).items() if k != "psf_gain"}  # a file from before psf_gain
    path = tmp_path / "legacy.safetensors"
    save_file({k: v.contiguous() for k, v in legacy.state_dict().items()}, str(path),
              metadata={"config": json.dumps(cfg)})
    model, info = model_and_source("tiny", path)
    assert model.config.psf_gain == load_weights(path).config.psf_gain == "divide"
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x, y), legacy(x, y))
    as_multiply = random_model("tiny", 5, widths=(16, 32, 64), feat_channels=64, num_kernels=64, psf_gain="multiply")
    assert info["state_sha256"] != state_sha256(as_multiply), "the hash tells the two functions apart"
    if shipped_weights("tiny") is not None:
        shipped, _ = model_and_source("tiny")
        assert shipped.config == load_pretrained("tiny").config
