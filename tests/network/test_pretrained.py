"""The shipped K3DN-Tiny: loads without running code, reproduces its golden output, and the demo works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import k3dn
from k3dn.cli import main
from k3dn.network.weights_io import PRETRAINED, file_sha256

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
        "shipped weights changed: regenerate with python tests/network/golden/make_golden.py"
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


REAL_DP = Path(__file__).resolve().parents[2] / "docs" / "real_dp"
# Optics blur in linear light, and the sRGB curve is concave, so a defocused capture is brighter in
# sRGB than its sharp image (Jensen): deblurring should darken the mean a little, never brighten it.
# On make_eval_set(24, 256) (linear light) the ground truth's mean minus the input's ranges from
# -0.025 to +0.004 (noise, L/R gain and borders give the small positive side; `python docs/tone_shift.py`).
TONE_SHIFT_RANGE = (-0.025, 0.005)


def _edge_energy(image: np.ndarray) -> float:
    """Mean gradient magnitude of the luma after a sigma-1 px Gaussian, which removes the palette
    dithering of the real crops so that the measure follows edges, not noise."""
    import cv2

    luma = cv2.GaussianBlur(image.mean(axis=2).astype(np.float32), (0, 0), 1.0)
    return float(np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1)).mean())


@pytest.mark.parametrize("name", ["canon_00", "pixel_00"])
def test_real_dp_capture_gets_sharper_without_a_tone_shift(name) -> None:
    """Real DP pairs have no ground truth: check that edges get stronger (deblurring happened) and
    that the mean level moves no more than defocus itself moves it (no learned tone shortcut beyond
    the physics), on crops of two real sensors."""
    from k3dn.camera import Deblurrer
    from k3dn.io import read_image

    left, _ = read_image(REAL_DP / f"{name}_left.png")
    right, _ = read_image(REAL_DP / f"{name}_right.png")
    sharp = Deblurrer(k3dn.load_pretrained("tiny"))(left, right)
    blurry = (left + right) / 2
    assert _edge_energy(sharp) > 1.05 * _edge_energy(blurry)
    low, high = TONE_SHIFT_RANGE
    assert low < float(sharp.mean()) - float(blurry.mean()) < high
