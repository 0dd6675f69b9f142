"""Noise/gain fits on views with known sensor parameters, and the storage-artifact augmentations."""

from __future__ import annotations

import numpy as np
import pytest

from k3dn.data.datasets import TrainDataset
from k3dn.data.degrade import KINDS, degrade_views, jpeg, palette_pair, quantize_8bit
from k3dn.data.noise_fit import compare_to_simulator, fit_gain, fit_noise
from k3dn.data.simulate import simulate_pair


def _patchwork(seed: int = 0) -> np.ndarray:
    """Flat rectangles of random colours: a scene with the flat regions a noise fit looks for."""
    rng = np.random.default_rng(seed)
    img = np.zeros((256, 256, 3), np.float32)
    for _ in range(60):
        y, x = rng.integers(0, 224, 2)
        h, w = rng.integers(16, 64, 2)
        img[y:y + h, x:x + w] = rng.random(3)
    return img


@pytest.mark.parametrize("shot, read", [(1e-4, 2e-3), (1e-3, 5e-3), (1e-5, 8e-3)])
def test_noise_fit_recovers_sigma_at_mid_grey(shot, read):
    sim = simulate_pair(_patchwork(), np.zeros((256, 256), np.float32), "disc", seed=0, noise=(shot, read))
    fit = fit_noise([sim["left"], sim["right"]])
    true_sigma = np.sqrt(shot * 0.21404 + read * read)  # linear value of sRGB 0.5
    assert fit["sigma_at_mid_grey_linear"] == pytest.approx(true_sigma, rel=0.15)


def test_noise_fit_of_noiseless_views_is_near_zero():
    sim = simulate_pair(_patchwork(), np.zeros((256, 256), np.float32), "disc", seed=0)
    assert fit_noise([sim["left"], sim["right"]])["sigma_at_mid_grey_linear"] < 1e-3


def test_gain_fit_recovers_the_simulator_gain_plane():
    sim = simulate_pair(_patchwork(1), np.full((256, 256), 2.0, np.float32), "disc", seed=0,
                        brightness=(0.05, 0.02, -0.03))
    fit = fit_gain(sim["left"], sim["right"])
    assert fit["lr_log_gain"] == pytest.approx(0.05, abs=0.005)
    assert fit["grad_x"] == pytest.approx(0.02, abs=0.005) and fit["grad_y"] == pytest.approx(-0.03, abs=0.005)
    cmp = compare_to_simulator({"shot": 1e-4, "read": 1e-3}, [fit])
    assert cmp["lr_log_gain_within_sim"] and cmp["grad_within_sim"]
    assert not compare_to_simulator({"shot": 1e-4, "read": 1e-3}, [fit | {"lr_log_gain": -0.27}])[
        "lr_log_gain_within_sim"]


def test_degradations():
    rng = np.random.default_rng(0)
    left = rng.random((32, 40, 3)).astype(np.float32)
    right = np.clip(left + 0.01, 0, 1)
    q = quantize_8bit(left)
    assert np.allclose(q * 255, np.round(q * 255), atol=1e-4)
    a, b = palette_pair(left, right)
    colours = np.unique(np.concatenate([a, b]).reshape(-1, 3), axis=0)
    assert len(colours) <= 256 and a.shape == left.shape
    j = jpeg(left, 75)
    assert j.shape == left.shape and 0 < np.abs(j - left).mean() < 0.2
    seen = {degrade_views(left, right, np.random.default_rng(i))[2].rstrip("0123456789") for i in range(30)}
    assert seen == set(KINDS) - {"jpeg"} | {"jpeg"}


def test_degrade_prob_is_opt_in_and_leaves_other_items_alone():
    base = TrainDataset(patch=48, seed=2)
    aug = TrainDataset(patch=48, seed=2, degrade_prob=0.5)
    hit = 0
    for i in range(6):
        s, ref = aug.sample(i), base.sample(i)
        assert np.array_equal(s["sharp"], ref["sharp"])  # the target stays clean
        if "degrade" in s["meta"]:
            hit += 1
            assert not np.array_equal(s["left"], ref["left"])
            assert np.allclose(s["blurry"], (s["left"] + s["right"]) / 2)
        else:
            assert np.array_equal(s["left"], ref["left"])
    assert 0 < hit < 6
    with pytest.raises(ValueError, match="degrade_prob"):
        TrainDataset(degrade_prob=-0.1)
