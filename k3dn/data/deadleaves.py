"""Dead-leaves scenes with true occlusions: every leaf has its own depth.

Leaf sizes follow the scale-invariant law of the dead-leaves model (pdf of the radius proportional
to r^-3 between r_min and r_max; Lee, Mumford, Huang, "Occlusion models for natural images", IJCV
2001), which reproduces the 1/f^2 power spectrum of natural images. Leaves are ellipses of random
aspect and orientation, each standing on one of a random handful of depth planes (6-20 per image,
log-uniform depths; this bounds the number of blur layers to render). They are painted from far to
near, so a nearer leaf always occludes a farther one and the depth map is exactly the depth of the
visible leaf. Each leaf is flat, a two-colour gradient, stripes, a 1/f noise texture or a tinted
photographic texture (scikit-image's bundled brick/grass/gravel). Rendered at 2x and area-averaged,
so edges are anti-aliased like a real all-in-focus photograph.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

_SS = 2  # supersampling factor
_MAX_LEAVES = 20000


@lru_cache(maxsize=1)
def _photo_textures() -> tuple[np.ndarray, ...]:
    from skimage import data

    return tuple(getattr(data, name)().astype(np.float32) / 255.0 for name in ("brick", "grass", "gravel"))


def fractal_noise(shape: tuple[int, int], rng: np.random.Generator, beta: float = 2.0) -> np.ndarray:
    """Zero-mean, unit-range 1/f^(beta/2)-amplitude noise field (H x W float32)."""
    h, w = shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spec[0, 0] = 0
    field = np.fft.irfft2(spec, s=shape).astype(np.float32)
    lo, hi = np.percentile(field, (1, 99))
    return np.clip((field - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def _texture_field(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A tiled, randomly cropped and scaled photographic texture covering `shape` (float32 in [0, 1])."""
    tex = _photo_textures()[rng.integers(3)]
    scale = float(rng.uniform(0.35, 1.0)) * _SS
    tex = cv2.resize(tex, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    reps = (shape[0] // tex.shape[0] + 2, shape[1] // tex.shape[1] + 2)
    tiled = np.tile(tex, reps)
    y0, x0 = rng.integers(tex.shape[0]), rng.integers(tex.shape[1])
    field = tiled[y0:y0 + shape[0], x0:x0 + shape[1]]
    lo, hi = np.percentile(field, (2, 98))
    return np.clip((field - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def sample_radii(rng: np.random.Generator, n: int, r_min: float, r_max: float) -> np.ndarray:
    """n radii with pdf proportional to r^-3 on [r_min, r_max] (inverse-CDF sampling)."""
    u = rng.random(n)
    return (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5


def _random_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Colours spread over the gamut: random hue, saturation and value (sRGB, float32)."""
    hsv = np.stack([rng.uniform(0, 180, n), rng.uniform(0, 255, n) * rng.random(n) ** 0.5,
                    255 * rng.uniform(0.03, 1.0, n) ** 0.8], axis=1).astype(np.uint8)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0].astype(np.float32) / 255.0


def dead_leaves(shape: tuple[int, int], rng: np.random.Generator, r_min: float = 1.5, r_max: float | None = None,
                depth_range: tuple[float, float] = (0.5, 20.0), coverage: float = 5.0,
                planes: tuple[int, int] = (6, 20)) -> tuple[np.ndarray, np.ndarray]:
    """A dead-leaves image and its depth map.

    Args:
        shape: (H, W).
        rng: random generator (the scene is a deterministic function of its state).
        r_min, r_max: leaf radius range in output pixels (r_max defaults to max(H, W) / 2).
        depth_range: leaf depths are log-uniform in this range (metres).
        coverage: leaves are drawn until their summed area is this many times the image area.
        planes: (min, max) number of distinct depth planes the leaves are spread over.

    Returns:
        image H x W x 3 float32 sRGB in [0, 1], depth H x W float32 (metres).
    """
    h, w = shape
    hs, ws = h * _SS, w * _SS
    r_max = r_max or max(h, w) / 2
    # Draw radii until the expected coverage is reached (vectorized in chunks).
    radii = np.empty(0)
    while radii.size < _MAX_LEAVES and np.sum(np.pi * radii**2) < coverage * h * w:
        radii = np.concatenate([radii, sample_radii(rng, 512, r_min, r_max)])
    n = min(radii.size, _MAX_LEAVES)
    radii = radii[:n] * _SS
    # Leaf centres may lie outside the image so big leaves enter from the sides.
    cx = rng.uniform(-0.1, 1.1, n) * ws
    cy = rng.uniform(-0.1, 1.1, n) * hs
    aspect = rng.uniform(0.4, 1.0, n)
    angle = rng.uniform(0, 180, n)
    lo, hi = np.log(depth_range[0]), np.log(depth_range[1])
    # Each leaf stands on one of `planes` random depth planes: true per-leaf occlusion ordering, and a
    # bounded number of blur layers to render (the planes differ from image to image).
    plane_depths = np.exp(rng.uniform(lo, hi, int(rng.integers(planes[0], planes[1] + 1))))
    depth = plane_depths[rng.integers(plane_depths.size, size=n)]
    order = np.argsort(-depth, kind="stable")  # far to near: nearer leaves are painted over farther ones

    labels = np.full((hs, ws), n, np.int32)  # label n is the background at the far end of depth_range
    shift = 4
    for i in order:
        axes = (int(radii[i] * 16), int(radii[i] * aspect[i] * 16))
        cv2.ellipse(labels, (int(cx[i] * 16), int(cy[i] * 16)), axes, float(angle[i]), 0, 360,
                    int(i), thickness=-1, lineType=cv2.LINE_8, shift=shift)

    # Per-leaf appearance (index n = background).
    m = n + 1
    c1, c2 = _random_colours(rng, m), _random_colours(rng, m)
    kind = rng.choice(5, size=m, p=[0.2, 0.2, 0.15, 0.25, 0.2])  # flat, gradient, stripes, noise, photo
    theta = rng.uniform(0, np.pi, m)
    freq = np.exp(rng.uniform(np.log(0.02), np.log(0.35), m)) / _SS
    phase = rng.uniform(0, 2 * np.pi, m)
    ccx, ccy = np.append(cx, ws / 2), np.append(cy, hs / 2)
    crad = np.append(radii, max(hs, ws) / 2)

    yy, xx = np.mgrid[0:hs, 0:ws].astype(np.float32)
    lab = labels
    proj = xx * np.cos(theta)[lab].astype(np.float32) + yy * np.sin(theta)[lab].astype(np.float32)
    centre_proj = (ccx * np.cos(theta) + ccy * np.sin(theta))[lab].astype(np.float32)
    gradient = np.clip(0.5 + (proj - centre_proj) / (2 * crad[lab].astype(np.float32)), 0, 1)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq[lab].astype(np.float32) * proj + phase[lab].astype(np.float32))
    noise = fractal_noise((hs, ws), rng, beta=float(rng.uniform(1.5, 2.5)))
    photo = _texture_field((hs, ws), rng)
    k = kind[lab]
    mix = np.select([k == 1, k == 2, k == 3, k == 4], [gradient, stripes, noise, photo], default=0.0)
    image = c1[lab] + (c2[lab] - c1[lab]) * mix[..., None]
    # A faint fine-grain texture everywhere so no region is perfectly flat.
    image += (fractal_noise((hs, ws), rng, beta=1.0)[..., None] - 0.5) * float(rng.uniform(0.0, 0.06))
    image = cv2.resize(np.clip(image, 0, 1).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    depth_map = np.append(depth, np.exp(hi))[labels[_SS // 2::_SS, _SS // 2::_SS]].astype(np.float32)
    return image, depth_map
