"""Storage artifacts real DP inputs carry: 8-bit rounding, a 256-colour GIF palette, JPEG compression.

The real pairs this project can see passed through such paths (the Canon views are dithered GIF-palette
frames, phone captures are often JPEG), while the simulator writes clean 16-bit views. `degrade_views`
applies one of them to both views of a simulated pair, as a training augmentation at a stated rate
(TrainDataset's `degrade_prob`); the target (sharp) image is left clean.
"""

from __future__ import annotations

import numpy as np

KINDS = ("8bit", "palette", "jpeg")
JPEG_QUALITY = (70, 95)  # uniform range of the JPEG quality factor


def quantize_8bit(view: np.ndarray) -> np.ndarray:
    """Round to the 8-bit grid."""
    return (np.round(np.clip(view, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def palette_pair(left: np.ndarray, right: np.ndarray, dither: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Both views through one 256-colour palette (median cut over both, Floyd-Steinberg dithering), as
    the frames of one animated GIF share a palette."""
    from PIL import Image

    h, w = left.shape[:2]
    both = np.concatenate([left, right], axis=1)
    img = Image.fromarray(np.round(np.clip(both, 0, 1) * 255).astype(np.uint8), "RGB")
    pal = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = img.quantize(palette=pal, dither=Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE)
    arr = np.asarray(out.convert("RGB"), np.float32) / 255.0
    return np.ascontiguousarray(arr[:, :w]), np.ascontiguousarray(arr[:, w:2 * w])


def jpeg(view: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip (OpenCV, 4:2:0 chroma subsampling) at the given quality."""
    import cv2

    data = np.round(np.clip(view, 0, 1) * 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", cv2.cvtColor(data, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode JPEG")
    return cv2.cvtColor(cv2.imdecode(enc, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def degrade_views(left: np.ndarray, right: np.ndarray, rng: np.random.Generator,
                  kinds: tuple[str, ...] = KINDS) -> tuple[np.ndarray, np.ndarray, str]:
    """Apply one storage artifact, drawn uniformly from `kinds`, to both views: (left, right, description)."""
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "8bit":
        return quantize_8bit(left), quantize_8bit(right), kind
    if kind == "palette":
        a, b = palette_pair(left, right)
        return a, b, kind
    if kind == "jpeg":
        q = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        return jpeg(left, q), jpeg(right, q), f"jpeg{q}"
    raise ValueError(f"unknown degradation {kind!r}; choose from {KINDS}")
