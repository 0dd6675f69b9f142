"""PSF fitting from the cross-convolution constraint, checked on simulated pairs whose kernels are known."""

from __future__ import annotations

import numpy as np
import pytest

from k3dn.data.dp_psf import dp_kernels
from k3dn.data.photos import bundled_scene
from k3dn.data.psf_fit import (
    PsfShape,
    block_spectra,
    family_kernels,
    fit_radii,
    kernel_disparity,
    validate_on_simulated,
)
from k3dn.data.sensor import srgb_to_linear
from k3dn.data.simulate import simulate_pair


def _pair(family: str, radius: float, size: int = 256, seed: int = 0):
    image, _ = bundled_scene((size, size), np.random.default_rng(seed))
    sim = simulate_pair(image, np.full((size, size), radius, np.float32), family, seed=seed, noise=(1e-4, 1e-3))
    return srgb_to_linear(sim["left"]), srgb_to_linear(sim["right"])


def test_family_reproduces_translating_disc_and_sign_convention():
    # ramp = chord = 1, no apodization, no asymmetry is the Punnappurath translating disc exactly.
    kl, kr = family_kernels(5.0, PsfShape(1.0, 1.0, 0.0, 0.0), supersample=8)
    dl, dr = dp_kernels(5.0, "disc")
    assert kl.shape == dl.shape
    np.testing.assert_allclose(kr, dr, atol=2e-4)
    np.testing.assert_allclose(kl, dl, atol=2e-4)
    assert kernel_disparity(kl, kr) > 0  # c > 0: the right view's weight on +x
    nl, nr = family_kernels(-5.0, PsfShape())
    assert kernel_disparity(nl, nr) == pytest.approx(-kernel_disparity(kl, kr), rel=1e-2)


def test_asymmetry_breaks_the_mirror_symmetry():
    kl, kr = family_kernels(4.0, PsfShape(asym=0.3))
    assert not np.allclose(kl, kr[:, ::-1], atol=1e-3)
    assert abs(kl.sum() - 1) < 1e-9 and abs(kr.sum() - 1) < 1e-9


@pytest.mark.parametrize("radius", [2.0, -4.0, 6.0])
def test_radius_fit_with_known_shape(radius):
    left, right = _pair("disc", radius)
    r, _ = fit_radii(block_spectra(left, right, 96, 48), PsfShape(1.0, 1.0, 0.0, 0.0), 10.0)
    assert np.median(r) == pytest.approx(radius, rel=0.05)


def test_cross_convolution_prefers_the_true_shape():
    # The residual must discriminate shapes, or the shape fit has nothing to go on.
    spectra = block_spectra(*_pair("disc", 4.0), 96, 48)
    costs = {name: fit_radii(spectra, shape, 10.0)[1].mean() for name, shape in
             {"true": PsfShape(1.0, 1.0, 0.0, 0.0), "flat ramp": PsfShape(0.6, 0.0, 0.0, 0.0),
              "rim": PsfShape(1.0, 1.0, 0.8, 0.0), "half disc": PsfShape(2.5, 1.0, 0.0, 0.0)}.items()}
    assert costs["true"] < 0.85 * min(v for k, v in costs.items() if k != "true")


def test_no_blur_fits_zero_radius():
    left, right = _pair("disc", 0.0)
    r, _ = fit_radii(block_spectra(left, right, 96, 48), PsfShape(), 10.0)
    assert np.median(np.abs(r)) < 0.3


@pytest.mark.slow
@pytest.mark.parametrize("family", ["butterworth", "disc"])
@pytest.mark.parametrize("radius", [2.0, 4.0, -6.0])
def test_full_shape_fit_within_ten_percent(family, radius):
    # The validation target: with the shape fitted too (no knowledge of the family), the fitted disparity
    # and blur radius are within 10 % of the simulator's truth.
    out = validate_on_simulated(family, radius)
    assert abs(out["radius_error"]) <= 0.10, out
    assert abs(out["disparity_error"]) <= 0.10, out
