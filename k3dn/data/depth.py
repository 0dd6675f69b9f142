"""Synthetic depth maps for photographs that come without one.

Kinds (metres, all positive):
* ``plane``   -- a fronto-parallel plane;
* ``tilted``  -- a slanted plane (log-depth linear in a random direction, like a floor or a wall);
* ``blobs``   -- a smooth random surface (low-pass filtered noise);
* ``layered`` -- a tilted or smooth background with 1-3 nearer occluders whose outlines follow the
  photograph's own edges where possible (a threshold of a smoothed colour projection), so depth
  discontinuities, and the occlusion effects of defocus, sit on image edges.

And `disparity_to_depth` for a real stereo disparity map (Middlebury's motorcycle in scikit-image).
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("plane", "tilted", "blobs", "layered")


def _log_range(rng: np.random.Generator, lo: float = 0.4, hi: float = 30.0,
               min_ratio: float = 1.5) -> tuple[float, float]:
    """A random log-depth interval inside [lo, hi] spanning at least a factor min_ratio."""
    a, b = np.log(lo), np.log(hi)
    span = rng.uniform(np.log(min_ratio), b - a)
    start = rng.uniform(a, b - span)
    return float(start), float(start + span)


def _smooth_field(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """Smooth random field in [0, 1] with feature size ~ scale * min(H, W)."""
    h, w = shape
    small = (max(2, int(round(w / (scale * min(h, w)))) + 1), max(2, int(round(h / (scale * min(h, w)))) + 1))
    coarse = rng.random((small[1], small[0])).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    field = cv2.GaussianBlur(field, (0, 0), max(1.0, 0.1 * scale * min(h, w)))
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / max(hi - lo, 1e-6)


def _ramp(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    theta = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = xx * np.cos(theta) + yy * np.sin(theta)
    return (t - t.min()) / max(float(t.max() - t.min()), 1e-6)


def _occluder_mask(image: np.ndarray | None, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A blob-shaped region; on a photograph, a threshold of a smoothed random colour projection."""
    if image is not None and rng.random() < 0.7:
        proj = image.reshape(-1, 3) @ rng.normal(size=3).astype(np.float32)
        proj = cv2.GaussianBlur(proj.reshape(shape), (0, 0), 2.0)
        q = rng.uniform(0.5, 0.85)
        mask = proj > np.quantile(proj, q) if rng.random() < 0.5 else proj < np.quantile(proj, 1 - q)
    else:
        mask = _smooth_field(shape, rng, rng.uniform(0.2, 0.6)) > rng.uniform(0.55, 0.8)
    # Drop specks so occluders are objects, not noise.
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    return mask.astype(bool)


def synthetic_depth(shape: tuple[int, int], rng: np.random.Generator, kind: str | None = None,
                    image: np.ndarray | None = None) -> np.ndarray:
    """A random depth map (H x W float32, metres) of the given kind (random if None)."""
    kind = kind or str(rng.choice(KINDS, p=[0.1, 0.3, 0.25, 0.35]))
    if kind not in KINDS:
        raise ValueError(f"unknown depth kind {kind!r}; choose one of {KINDS}")
    lo, hi = _log_range(rng)
    if kind == "plane":
        return np.full(shape, np.exp(rng.uniform(lo, hi)), np.float32)
    if kind == "tilted":
        return np.exp(lo + (hi - lo) * _ramp(shape, rng)).astype(np.float32)
    if kind == "blobs":
        return np.exp(lo + (hi - lo) * _smooth_field(shape, rng, rng.uniform(0.2, 0.8))).astype(np.float32)
    # layered: background over the far part of the range, occluders in front of it
    mid = lo + (hi - lo) * rng.uniform(0.3, 0.7)
    base = _ramp(shape, rng) if rng.random() < 0.5 else _smooth_field(shape, rng, 0.5)
    log_depth = mid + (hi - mid) * base
    for _ in range(int(rng.integers(1, 4))):
        mask = _occluder_mask(image, shape, rng)
        z = rng.uniform(lo, mid)
        tilt = (rng.uniform(-0.15, 0.15) * (hi - lo)) * (_ramp(shape, rng) - 0.5)
        log_depth = np.where(mask, np.minimum(log_depth, z + tilt), log_depth)
    return np.exp(log_depth).astype(np.float32)


def disparity_to_depth(disparity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Depth (metres) from a stereo disparity map, z proportional to 1/d, invalid pixels filled.

    The unknown baseline*focal product is drawn so the nearest point lies at 0.5-2 m.
    """
    d = np.asarray(disparity, np.float32)
    valid = np.isfinite(d) & (d > 0)
    if not valid.any():
        raise ValueError("disparity map has no valid pixel")
    filled = d if valid.all() else _fill_holes(np.where(valid, d, 0).astype(np.float32), valid)
    near = float(rng.uniform(0.5, 2.0))
    return (near * float(filled.max()) / np.maximum(filled, 1e-3)).astype(np.float32)


def _fill_holes(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace invalid pixels by the value of the nearest valid pixel (distance-transform labels)."""
    _, labels = cv2.distanceTransformWithLabels((~valid).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    # labels index the zero (valid) pixels in raster order
    valid_values = values[valid]
    idx = np.zeros(labels.max() + 1, np.int64)
    ys, xs = np.nonzero(valid)
    idx[labels[ys, xs]] = np.arange(ys.size)
    return valid_values[idx[labels]].astype(np.float32)
