"""Noise and left/right gain of real DP views, measured without ground truth, in the simulator's terms.

* `fit_noise`: Poisson-Gaussian fit var(x) = shot * x + read^2 in linear light (sensor.py's model).
  Each small block of each colour channel gives its mean and its noise variance by Immerkaer's
  second-difference mask (which cancels intensity ramps; white noise of variance s^2 gives 36 s^2
  after it); texture only inflates that variance, so per
  intensity bin the lowest 5 % of blocks stand for the flat ones, and a non-negative least-squares
  line through those bin values gives (shot, read).
* `fit_gain`: log(gain_L / gain_R) as a plane over the normalized frame, lr_log_gain + grad_x x +
  grad_y y (SensorParams' terms), from per-block log ratios of the view means.

Both treat a pair's views as they are: quantization and dithering (the Canon GIF frames) add their own
variance, which the fit reports as noise; `compare_to_simulator` says where each value falls in the
simulator's random draws (sensor.random_sensor).
"""

from __future__ import annotations

import numpy as np

from .sensor import srgb_to_linear

SIM_SHOT = (1e-5, 1.5e-3)  # random_sensor's log-uniform ranges, for the comparison
SIM_READ = (2e-4, 8e-3)
SIM_LR_LOG_GAIN = 0.13
SIM_GRAD = 0.05
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def block_noise(linear: np.ndarray, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(mean, noise variance) of every size x size block of every channel of a linear-light image."""
    import cv2

    img = np.asarray(linear, np.float32)
    img = img[..., None] if img.ndim == 2 else img
    h, w, ch = img.shape
    means, variances = [], []
    for c in range(ch):
        plane = img[..., c]
        resid = cv2.filter2D(plane, cv2.CV_32F, _IMMERKAER, borderType=cv2.BORDER_REFLECT)
        hb, wb = h // size, w // size
        if hb == 0 or wb == 0:
            continue
        blocks = plane[:hb * size, :wb * size].reshape(hb, size, wb, size)
        rblocks = resid[:hb * size, :wb * size].reshape(hb, size, wb, size)[:, 1:-1, :, 1:-1]
        means.append(blocks.mean(axis=(1, 3)).ravel())
        variances.append((rblocks.astype(np.float64) ** 2).mean(axis=(1, 3)).ravel() / 36.0)
    return np.concatenate(means), np.concatenate(variances)


def _quantile_factor(size: int, quantile: float) -> float:
    """The `quantile` of block_noise's estimate over white noise of unit variance: the low quantile used to
    pick flat blocks reads low by this factor even where every block is flat."""
    rng = np.random.default_rng(0)
    _, var = block_noise(rng.standard_normal((size * 64, size * 64)).astype(np.float32), size)
    return float(np.quantile(var, quantile))


def fit_noise(views: list[np.ndarray], srgb: bool = True, bins: int = 12, size: int = 8,
              quantile: float = 0.05) -> dict:
    """Poisson-Gaussian (shot, read) of a set of views (sRGB by default; converted to linear light)."""
    from scipy.optimize import nnls

    ms, vs = [], []
    for v in views:
        m, var = block_noise(srgb_to_linear(v) if srgb else v, size)
        ms.append(m)
        vs.append(var)
    mean, var = np.concatenate(ms), np.concatenate(vs)
    keep = (mean > 0.01) & (mean < 0.9)
    mean, var = mean[keep], var[keep]
    edges = np.quantile(mean, np.linspace(0, 1, bins + 1)) if len(mean) >= bins * 20 else None
    if edges is None:
        raise ValueError(f"only {len(mean)} usable blocks: too few to fit noise")
    xs, ys = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (mean >= lo) & (mean <= hi)
        if sel.sum() >= 10:
            xs.append(float(np.median(mean[sel])))
            ys.append(float(np.quantile(var[sel], quantile)))
    ys = [y / _quantile_factor(size, quantile) for y in ys]
    (shot, read2), _ = nnls(np.stack([np.asarray(xs), np.ones(len(xs))], axis=1), np.asarray(ys))
    mid = float(srgb_to_linear(np.float32(0.5)))
    return {"shot": float(shot), "read": float(np.sqrt(read2)), "blocks": int(len(mean)),
            "sigma_at_mid_grey_linear": float(np.sqrt(shot * mid + read2)),
            "curve": [{"mean": x, "var": y} for x, y in zip(xs, ys, strict=True)]}


def fit_gain(left: np.ndarray, right: np.ndarray, size: int = 32) -> dict:
    """Plane fit of log(gain_L / gain_R) over the normalized frame (x, y in [-1, 1]).

    Each block gives the median of the per-pixel log ratio of the lightly smoothed views: disparity moves
    edges between the views, which skews a block's mean ratio but only a minority of its pixels' ratios.
    """
    import cv2

    a = cv2.GaussianBlur(srgb_to_linear(left).mean(axis=2), (0, 0), 2.0)
    b = cv2.GaussianBlur(srgb_to_linear(right).mean(axis=2), (0, 0), 2.0)
    ok = (a > 0.02) & (b > 0.02) & (a < 0.95) & (b < 0.95)
    ratio = np.log(np.maximum(a, 1e-6) / np.maximum(b, 1e-6))
    h, w = a.shape
    rows, vals = [], []
    for y0 in range(0, h - size + 1, size):
        for x0 in range(0, w - size + 1, size):
            sel = ok[y0:y0 + size, x0:x0 + size]
            if sel.mean() < 0.5:
                continue
            x = 2 * (x0 + size / 2) / w - 1
            y = 2 * (y0 + size / 2) / h - 1
            rows.append((1.0, x, y))
            vals.append(float(np.median(ratio[y0:y0 + size, x0:x0 + size][sel])))
    if len(rows) < 3:
        raise ValueError("too few well-exposed blocks to fit the left/right gain")
    design, target = np.asarray(rows), np.asarray(vals)
    keep = np.ones(len(target), bool)
    for _ in range(3):  # blocks where disparity moves an edge across the border are outliers: refit without them
        coef, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
        resid = target - design @ coef
        mad = np.median(np.abs(resid[keep] - np.median(resid[keep]))) + 1e-9
        keep = np.abs(resid) <= 3.0 * 1.4826 * mad
    resid = resid[keep]
    return {"lr_log_gain": float(coef[0]), "grad_x": float(coef[1]), "grad_y": float(coef[2]),
            "residual_std": float(resid.std()), "blocks": int(keep.sum())}


def compare_to_simulator(noise: dict, gains: list[dict]) -> dict:
    """Where measured values fall in the simulator's random draws (random_sensor)."""

    def log_pos(v: float, lo: float, hi: float) -> float:
        return float((np.log(max(v, 1e-12)) - np.log(lo)) / (np.log(hi) - np.log(lo)))

    g = np.asarray([[x["lr_log_gain"], x["grad_x"], x["grad_y"]] for x in gains]) if gains else np.zeros((0, 3))
    return {"shot_position_in_sim_range": log_pos(noise["shot"], *SIM_SHOT),
            "read_position_in_sim_range": log_pos(noise["read"], *SIM_READ),
            "lr_log_gain_within_sim": bool(np.all(np.abs(g[:, 0]) <= SIM_LR_LOG_GAIN)) if len(g) else None,
            "grad_within_sim": bool(np.all(np.abs(g[:, 1:]) <= SIM_GRAD)) if len(g) else None,
            "note": "position 0 = the simulator's smallest draw, 1 = its largest (log scale); outside [0, 1] "
                    "the simulator never draws such a value"}
