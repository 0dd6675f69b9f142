"""Sensor levels: integer or float samples <-> the model's float32 [0, 1], and DP per-view gain.

`to_unit` maps a sample v to (v - black) / (white - black) in float32 arithmetic, per channel where black
and white are sequences; `from_unit` is its inverse with round-half-up, clipped to the dtype's range. The
Android demo's Java core does the same arithmetic (float32, floor(x + 0.5)) and is tested against golden
vectors from this module.

Values above the white level are clipped to 1 by default (`over_white="clip"`): highlights saturate on a
real sensor anyway. `over_white="error"` refuses them instead (a sign of a wrong white level).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import PipelineError

Level = float | Sequence[float] | np.ndarray


def default_white(dtype: np.dtype) -> float:
    """255 for uint8, 65535 for uint16, 1.0 for floats."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    if dtype.kind == "f":
        return 1.0
    raise PipelineError(f"unsupported sample type {dtype}; use uint8, uint16 or float32")


def _level(value: Level | None, default: float, channels: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(default if value is None else value, dtype=np.float32)
    except (TypeError, ValueError):
        raise PipelineError(f"{what} level must be a number or one per channel, got {value!r}") from None
    if arr.ndim == 0:
        arr = np.full(channels, arr, dtype=np.float32)
    if arr.shape != (channels,):
        raise PipelineError(f"{what} level must be one value or {channels} (one per channel), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise PipelineError(f"{what} level must be finite, got {arr.tolist()}")
    return arr


def levels(dtype: np.dtype, channels: int, black: Level | None = None, white: Level | None = None,
           ) -> tuple[np.ndarray, np.ndarray]:
    """(black, white) as float32 per-channel arrays, checked: white > black."""
    b = _level(black, 0.0, channels, "black")
    w = _level(white, default_white(dtype), channels, "white")
    if np.any(w <= b):
        raise PipelineError(f"white level {w.tolist()} must be above black level {b.tolist()}")
    return b, w


def to_unit(x: np.ndarray, black: Level | None = None, white: Level | None = None, over_white: str = "clip",
            ) -> np.ndarray:
    """H x W x C samples -> float32 in [0, 1]: (x - black) / (white - black), clipped."""
    if over_white not in ("clip", "error"):
        raise PipelineError(f"over_white must be 'clip' or 'error', got {over_white!r}")
    b, w = levels(x.dtype, x.shape[-1], black, white)
    y = (x.astype(np.float32) - b) / (w - b)
    if over_white == "error" and np.any(y > 1.0):
        raise PipelineError(f"{int(np.count_nonzero(y > 1.0))} samples are above the white level {w.tolist()}")
    return np.clip(y, 0.0, 1.0)


def from_unit(y: np.ndarray, dtype: np.dtype, black: Level | None = None, white: Level | None = None) -> np.ndarray:
    """float [0, 1] -> samples of `dtype`: floor(y (white - black) + black + 0.5), clipped to the dtype's range."""
    dtype = np.dtype(dtype)
    b, w = levels(dtype, y.shape[-1], black, white)
    v = y.astype(np.float32) * (w - b) + b
    if dtype.kind == "f":
        return v.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.floor(v + np.float32(0.5)), info.min, info.max).astype(dtype)


def check_gain(gain: float | np.ndarray, what: str = "gain") -> np.ndarray:
    """A gain as float32, refused (PipelineError) unless it is numeric, finite and positive: a NaN, Inf or
    negative gain cannot give a meaningful pixel."""
    try:
        g = np.asarray(gain, dtype=np.float32)
    except (TypeError, ValueError):
        raise PipelineError(f"{what} must be a number or a numeric array, got {type(gain).__name__}") from None
    if g.ndim > 3:
        raise PipelineError(f"{what} must be a scalar, per channel or an H x W [x C] map, got shape {g.shape}")
    if not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise PipelineError(f"{what} must be finite and positive (no NaN, Inf, zero or negative values)")
    return g


def apply_gain(x: np.ndarray, gain: float | np.ndarray | None) -> np.ndarray:
    """Multiply a float [0, 1] view by its gain (scalar, per channel, or an H x W [x C] map) and clip to [0, 1]."""
    if gain is None:
        return x
    g = check_gain(gain)
    if g.ndim == 2:
        g = g[..., None]
    return np.clip(x * g, 0.0, 1.0)


def flat_field_gains(flat_left: np.ndarray, flat_right: np.ndarray, sigma: float | None = None,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel DP vignetting correction from a flat-field pair (float [0, 1], H x W x C).

    The two half-aperture views fall off in opposite directions across the frame. Both are smoothed
    (Gaussian, `sigma` = 2 % of the short side by default, which removes noise but keeps the smooth
    fall-off) and the gains g_L = m / L_s, g_R = m / R_s with m = (L_s + R_s) / 2 bring each view to their
    mean. Returns two H x W x C float32 gain maps for `apply_gain`.
    """
    import cv2

    if flat_left.shape != flat_right.shape or flat_left.ndim != 3:
        raise PipelineError(f"flat-field views must both be H x W x C, got {flat_left.shape} and {flat_right.shape}")
    sigma = sigma or 0.02 * min(flat_left.shape[:2])
    ls, rs = (cv2.GaussianBlur(v.astype(np.float32), (0, 0), sigma) for v in (flat_left, flat_right))
    if min(ls.min(), rs.min()) <= 1e-4:
        raise PipelineError("flat-field views are black somewhere; capture a brighter, uniform flat field")
    mean = 0.5 * (ls + rs)
    return (mean / ls).astype(np.float32), (mean / rs).astype(np.float32)
