"""Loss (Eq. 18) and evaluation metrics on inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from k3dn.evaluation.metrics import all_metrics, mae, psnr, rmse_rel, sharp_region_error, ssim
from k3dn.training.losses import charbonnier, k3dn_loss


def test_charbonnier_is_l1_like_and_smooth_at_zero() -> None:
    a = torch.zeros(1, 3, 4, 4)
    assert math.isclose(float(charbonnier(a, a)), 1e-3, rel_tol=1e-6)
    assert math.isclose(float(charbonnier(a + 0.5, a)), math.sqrt(0.25 + 1e-6), rel_tol=1e-6)


def test_loss_combines_deblur_and_weighted_reblur() -> None:
    torch.manual_seed(0)
    sharp, blurry = torch.rand(2, 1, 3, 16, 16)
    restored, reblurred = sharp + 0.1, blurry - 0.2
    no_reb = k3dn_loss(restored, sharp, None, blurry, reblur_weight=0.5)
    with_reb = k3dn_loss(restored, sharp, reblurred, blurry, reblur_weight=0.5)
    assert float(no_reb["reblur"]) == 0.0
    torch.testing.assert_close(with_reb["loss"], no_reb["loss"] + 0.5 * with_reb["reblur"])
    assert float(with_reb["reblur"]) == pytest.approx(0.2, abs=1e-3)
    perfect = k3dn_loss(sharp, sharp, blurry, blurry)
    assert float(perfect["loss"]) < 2e-3


def test_metrics_on_known_inputs() -> None:
    gt = np.full((32, 32, 3), 0.5, dtype=np.float32)
    pred = gt + 0.1
    assert psnr(pred, gt) == pytest.approx(20.0, abs=1e-4)  # MSE 0.01
    assert rmse_rel(pred, gt) == pytest.approx(0.1, abs=1e-6)
    assert mae(pred, gt) == pytest.approx(0.1, abs=1e-6)
    assert psnr(gt, gt) == float("inf")
    assert ssim(gt, gt) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    img = rng.random((64, 64, 3)).astype(np.float32)
    low = ssim(np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1).astype(np.float32), img)
    high = ssim(np.clip(img + rng.normal(0, 0.3, img.shape), 0, 1).astype(np.float32), img)
    assert 0.3 < high < low < 0.99
    # PSNR and RMSE_rel agree as in the paper's tables: PSNR = -20 log10(RMSE_rel).
    noisy = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    assert psnr(noisy, img) == pytest.approx(-20 * math.log10(rmse_rel(noisy, img)), abs=1e-9)


def test_sharp_region_error_uses_only_masked_pixels() -> None:
    gt = np.zeros((16, 16, 3), dtype=np.float32)
    pred = gt.copy()
    pred[:, 8:] = 1.0  # wrong only in the right half
    mask = np.zeros((16, 16), dtype=bool)
    mask[:, :8] = True
    assert sharp_region_error(pred, gt, mask) == 0.0
    assert sharp_region_error(pred, gt, ~mask) == 1.0
    assert math.isnan(sharp_region_error(pred, gt, np.zeros((16, 16), dtype=bool)))
    assert all_metrics(pred, gt, mask)["sharp_mae"] == 0.0
