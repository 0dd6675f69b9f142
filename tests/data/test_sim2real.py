"""The ground-truth-free sim-to-real statistics respond to what they claim to measure."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from k3dn.data.photos import bundled_scene
from k3dn.data.sim2real import block_blur, block_disparity, distance, kernel_figure, measure
from k3dn.data.simulate import simulate_pair


def _gray(seed: int = 0) -> np.ndarray:
    image, _ = bundled_scene((96, 96), np.random.default_rng(seed))
    return image.mean(axis=2).astype(np.float32)


@pytest.mark.parametrize("shift", [-3.0, 0.0, 1.5, 4.0])
def test_block_disparity_finds_a_known_shift(shift):
    g = _gray()
    moved = cv2.warpAffine(g, np.float32([[1, 0, shift], [0, 1, 0]]), (96, 96), flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_REFLECT)
    # block_disparity aligns R(x + s) to L(x): a right view moved by +shift gives s = +shift.
    assert block_disparity(g[16:80, 16:80], moved[16:80, 16:80]) == pytest.approx(shift, abs=0.25)


def test_block_blur_grows_with_gaussian_blur():
    g = _gray(1)
    sigmas = [block_blur(cv2.GaussianBlur(g, (0, 0), s)) for s in (1.0, 2.0, 3.0)]
    assert sigmas[0] < sigmas[1] < sigmas[2]
    assert sigmas[1] == pytest.approx(2.0, rel=0.35)


def test_measure_separates_blur_levels_and_distance_is_zero_to_itself():
    image, _ = bundled_scene((192, 192), np.random.default_rng(2))
    pairs = {}
    for c in (1.0, 5.0):
        sim = simulate_pair(image, np.full((192, 192), c, np.float32), "disc", seed=0)
        pairs[c] = [(sim["left"], sim["right"])]
    small, large = measure(pairs[1.0]), measure(pairs[5.0])
    assert large["abs_disparity_q"][1] > small["abs_disparity_q"][1] or small["defocused_blocks"] == 0
    assert large["lr_log10_spectrum"][0] > small["lr_log10_spectrum"][0]
    assert distance(large, large) == {"log_ratio_gap": 0.0, "spectrum_gap_log10": 0.0}


def test_kernel_figure_has_three_rows_per_kind():
    doc = {"shape": {"ramp": 1.0, "chord": 1.0, "apod": 0.0, "asym": 0.0}, "field": None,
           "fit": {"median_abs_disparity": 1.5}}
    fig = kernel_figure({"dslr": doc}, size=40)
    assert fig.ndim == 3 and fig.shape[0] == 3 * 40 + 6 and fig.min() >= 0 and fig.max() <= 1
