"""The shipped K3DN-Tiny: loads without running code, reproduces its golden output, and the demo works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import k3dn
from k3dn.cli import main
from k3dn.weights_io import PRETRAINED, file_sha256

GOLDEN = Path(__file__).parent / "golden" / "k3dn_tiny_golden.npz"


def test_shipped_weights_are_small_safetensors() -> None:
    path = PRETRAINED["tiny"]
    assert path.suffix == ".safetensors" and path.stat().st_size <= 15 * 2**20


def test_load_pretrained_returns_eval_model() -> None:
    model = k3dn.load_pretrained("tiny")
    assert isinstance(model, k3dn.K3DN) and not model.training and model.config.name == "tiny"
    with pytest.raises(k3dn.WeightsError, match="no shipped weights"):
        k3dn.load_pretrained("large")


def test_golden_output() -> None:
    """Golden output of the shipped weights on a stored DP pair (tolerance rtol 1e-3, atol 1e-4)."""
    golden = np.load(GOLDEN)
    assert str(golden["weights_sha256"]) == file_sha256(PRETRAINED["tiny"]), \
        "shipped weights changed: regenerate with python tests/golden/make_golden.py"
    model = k3dn.load_pretrained("tiny")
    left, right = (torch.from_numpy(golden[k]).permute(2, 0, 1)[None] for k in ("left", "right"))
    with torch.no_grad():
        sharp = model(left, right)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(sharp, golden["sharp"], rtol=1e-3, atol=1e-4)


def test_demo_improves_the_held_out_photo(tmp_path, capsys) -> None:
    out = tmp_path / "demo.png"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.is_file()
    p_in = float(text.split("input")[1].split("PSNR")[1].split("dB")[0])
    p_out = float(text.split("K3DN-Tiny output")[1].split("PSNR")[1].split("dB")[0])
    assert p_out > p_in, text
