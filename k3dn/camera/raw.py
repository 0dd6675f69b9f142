"""Raw dual-pixel unpackers: sensor readouts -> a (left, right) pair of views.

Each layout has an inverse (used by the round-trip tests and by anyone writing test captures):

- separate planes: `left`, `right` as they are (`split_planes` only checks them);
- column-interleaved readout: left and right photodiodes alternate per column, H x 2W -> two H x W views
  (`deinterleave_columns` / `interleave_columns`);
- combined + one sub-view (Canon DPRAW): the main image is the sum of both photodiodes, the sub image one
  of them, so right = combined - left (+ black, since each stored value carries one black level)
  (`split_combined` / `combine`);
- Bayer DP raw: each view a Bayer mosaic, demosaiced bilinearly to linear RGB and optionally sRGB-encoded,
  since the shipped model was trained on sRGB-encoded values (`bayer_to_rgb`).
"""

from __future__ import annotations

import numpy as np

from ..errors import PipelineError
from .levels import Level, to_unit

BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")


def split_planes(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Separate left/right planes: returned unchanged after checking they match."""
    if left.shape != right.shape or left.dtype != right.dtype:
        raise PipelineError(f"left {left.shape} {left.dtype} and right {right.shape} {right.dtype} differ")
    return left, right


def deinterleave_columns(raw: np.ndarray, left_first: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """H x 2W [x C] column-interleaved DP readout -> (left, right), each H x W [x C]."""
    if raw.ndim not in (2, 3) or raw.shape[1] % 2:
        raise PipelineError(f"column-interleaved DP readout must be H x 2W [x C] with an even width, got {raw.shape}")
    a, b = raw[:, 0::2], raw[:, 1::2]
    return (a, b) if left_first else (b, a)


def interleave_columns(left: np.ndarray, right: np.ndarray, left_first: bool = True) -> np.ndarray:
    """Inverse of deinterleave_columns."""
    split_planes(left, right)
    out = np.empty((left.shape[0], 2 * left.shape[1], *left.shape[2:]), dtype=left.dtype)
    out[:, 0::2], out[:, 1::2] = (left, right) if left_first else (right, left)
    return out


def _integer_range(dtype: np.dtype) -> tuple[int, int]:
    if np.dtype(dtype).kind not in "ui":
        raise PipelineError(f"combined DP raw must be integer samples, got {dtype}")
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def split_combined(combined: np.ndarray, sub: np.ndarray, black: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Canon DPRAW: (combined = A + B, sub = A) -> (left = A, right = combined - sub + black), same dtype.

    Computed in int64 and clipped to the dtype's range (noise can push the difference below 0).
    """
    split_planes(combined, sub)
    lo, hi = _integer_range(combined.dtype)
    right = np.clip(combined.astype(np.int64) - sub.astype(np.int64) + int(black), lo, hi)
    return sub, right.astype(combined.dtype)


def combine(left: np.ndarray, right: np.ndarray, black: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of split_combined: (left, right) -> (combined = left + right - black, sub = left)."""
    split_planes(left, right)
    lo, hi = _integer_range(left.dtype)
    combined = left.astype(np.int64) + right.astype(np.int64) - int(black)
    if combined.max(initial=lo) > hi:
        raise PipelineError(f"left + right overflows {left.dtype}; the combined image needs a wider type")
    return np.clip(combined, lo, hi).astype(left.dtype), left


def bayer_masks(height: int, width: int, pattern: str = "RGGB") -> np.ndarray:
    """H x W x 3 boolean masks of where the R, G, B samples of a Bayer `pattern` sit."""
    pattern = pattern.upper()
    if pattern not in BAYER_PATTERNS:
        raise PipelineError(f"unknown Bayer pattern {pattern!r}; choose from {BAYER_PATTERNS}")
    masks = np.zeros((height, width, 3), dtype=bool)
    for k, ch in enumerate(pattern):
        dy, dx = divmod(k, 2)
        masks[dy::2, dx::2, "RGB".index(ch)] = True
    return masks


def mosaic(rgb: np.ndarray, pattern: str = "RGGB") -> np.ndarray:
    """H x W x 3 -> the H x W Bayer mosaic a sensor with `pattern` would record (inverse direction of demosaic)."""
    masks = bayer_masks(rgb.shape[0], rgb.shape[1], pattern)
    return np.where(masks, rgb, 0).sum(axis=2).astype(rgb.dtype)


def demosaic_bilinear(mosaic_unit: np.ndarray, pattern: str = "RGGB") -> np.ndarray:
    """Bilinear demosaic of a float H x W mosaic: each missing sample is the mean of its nearest same-colour
    neighbours (normalised convolution, reflect borders). Exact on constant and on linear-ramp images."""
    import cv2

    h, w = mosaic_unit.shape
    if h < 2 or w < 2:
        raise PipelineError(f"a Bayer mosaic needs at least 2 x 2 pixels, got {h} x {w}")
    masks = bayer_masks(h, w, pattern).astype(np.float32)
    kernel = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32)
    out = np.empty((h, w, 3), dtype=np.float32)
    for c in range(3):
        m = masks[..., c]
        num = cv2.filter2D(mosaic_unit * m, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        den = cv2.filter2D(m, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        out[..., c] = np.where(m > 0, mosaic_unit, num / den)
    return out


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB transfer function on float [0, 1]."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def bayer_to_rgb(raw: np.ndarray, pattern: str = "RGGB", black: Level | None = None, white: Level | None = None,
                 wb: tuple[float, float, float] = (1.0, 1.0, 1.0), encoding: str = "srgb") -> np.ndarray:
    """One DP view's H x W Bayer mosaic -> H x W x 3 float32 in [0, 1].

    Steps: black/white levels (`to_unit`), bilinear demosaic, white-balance gains `wb` (R, G, B), clip, then
    `encoding`: "srgb" (the sRGB curve; what the shipped model was trained on) or "linear" (for a model trained
    on linear data). Apply it to both views with the same settings.
    """
    if encoding not in ("srgb", "linear"):
        raise PipelineError(f"encoding must be 'srgb' or 'linear', got {encoding!r}")
    if raw.ndim != 2:
        raise PipelineError(f"a Bayer mosaic is H x W (one sample per pixel), got {raw.shape}")
    unit = to_unit(raw[..., None], black, white)[..., 0]
    rgb = np.clip(demosaic_bilinear(unit, pattern) * np.asarray(wb, dtype=np.float32), 0.0, 1.0)
    return srgb_encode(rgb) if encoding == "srgb" else rgb
