"""Image-quality metrics of the paper's tables (Sec. 4.1) plus sharp-region preservation (Fig. 8).

All take H x W x 3 float arrays in [0, 1] (prediction, ground truth).
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity


def psnr(pred: np.ndarray, gt: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for peak 1: 10 log10(1 / MSE). Inf for identical images."""
    mse = float(np.mean((pred.astype(np.float64) - gt.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004) by scikit-image: Gaussian window sigma 1.5, computed
    per channel and averaged, data range 1 (the settings of the DPDD evaluation code)."""
    return float(structural_similarity(gt, pred, channel_axis=-1, data_range=1.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))


def rmse_rel(pred: np.ndarray, gt: np.ndarray) -> float:
    """RMSE_rel of the paper's tables (after DDDNet): root-mean-square error relative to the peak
    value 1, sqrt(mean((pred - gt)^2)). It is consistent with their PSNRs: PSNR = -20 log10(RMSE_rel),
    e.g. Table 1 'Input' 23.89 dB <-> 6.39e-2."""
    return float(np.sqrt(np.mean((pred.astype(np.float64) - gt.astype(np.float64)) ** 2)))


def mae(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute error on the [0, 1] scale (the tables report it x 10^-1)."""
    return float(np.mean(np.abs(pred.astype(np.float64) - gt.astype(np.float64))))


def sharp_region_error(pred: np.ndarray, gt: np.ndarray, in_focus: np.ndarray) -> float:
    """Mean absolute error over in-focus pixels only (mask H x W, from the simulator): how well
    already-sharp regions are preserved (the claim of the paper's Fig. 8). NaN if the mask is empty."""
    mask = in_focus.astype(bool)
    if not mask.any():
        return float("nan")
    return float(np.mean(np.abs(pred[mask].astype(np.float64) - gt[mask].astype(np.float64))))


def all_metrics(pred: np.ndarray, gt: np.ndarray, in_focus: np.ndarray | None = None) -> dict[str, float]:
    out = {"psnr": psnr(pred, gt), "ssim": ssim(pred, gt), "rmse_rel": rmse_rel(pred, gt), "mae": mae(pred, gt)}
    out["sharp_mae"] = sharp_region_error(pred, gt, in_focus) if in_focus is not None else float("nan")
    return out
