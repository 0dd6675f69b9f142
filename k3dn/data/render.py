"""Spatially varying defocus blur with occlusions: layered, back-to-front, occlusion-aware compositing.

The signed blur-radius map is quantized into depth layers (finer steps at small radii). Larger c is
farther (c = s (1 - z_f / z) grows with z), so layers are composited in order of decreasing c. For
layer k with mask alpha_k, cumulative mask A_k = sum of alpha over layer k and every layer behind
it, and PSF h_k (one per view), following Ikoma, Nguyen, Metzler, Peng, Wetzstein, "Depth from
Defocus with Learned Optics for Imaging and Occlusion-aware Depth Estimation", ICCP 2021:

    E_k = h_k * A_k                   blurred mask of the layer and everything behind it
    a_k = (h_k * alpha_k) / E_k       the layer's opacity, normalized by what lies behind it
    F_k = (h_k * (alpha_k I)) / E_k   its normalized colour

and over-compositing back to front, S <- F_k + (1 - a_k) S, W <- a_k + (1 - a_k) W. The result is
S / W: W is the accumulated coverage, and dividing by it fills the light that would have come from
background hidden behind a nearer, more blurred layer (Ikoma's per-layer normalization alone leaves a
dark halo there). Every output pixel is thus a convex combination of scene colours: a constant
image stays exactly constant whatever the layering, so layer seams neither darken nor glow.

Each view is composited separately with its own kernels; a real sensor's full-aperture image is
the mean of its two photodiodes, so `blurry` is defined as (left + right) / 2. That mean equals a
render with the full-aperture kernel exactly where no layer boundary lies within the blur (linear
convolution); near occlusion boundaries they differ because the normalization is not linear in the
kernel.

Blurs are linear convolutions restricted to the layer's bounding box: direct (OpenCV) for small
kernels, FFT (scipy.fft, pocketfft, deterministic) for large ones. No per-pixel Python loops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import scipy.fft as sfft

# Blur contributions below this are treated as exactly zero, so regions no blur reaches (e.g. in
# focus, far from any defocused layer) come out bit-identical to the input.
_TINY = 1e-6
_DIRECT_MAX = 11  # kernels up to this size use direct convolution, larger ones the FFT


def radius_levels(max_radius: float = 16.0, step: float = 0.5, rel: float = 0.12) -> np.ndarray:
    """Non-negative quantization levels: 0, then steps of max(step, rel * r) up to max_radius."""
    levels = [0.0]
    while levels[-1] < max_radius:
        levels.append(min(levels[-1] + max(step, rel * levels[-1]), max_radius))
    return np.asarray(levels, dtype=np.float32)


def quantize_radius(signed_radius: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snap each pixel's signed radius to the nearest +-level.

    Returns (rank, radii): `radii` holds the signed radius of each layer present, back to front
    (decreasing c), and `rank[y, x]` the index of the pixel's layer in that list.
    """
    mag = np.abs(signed_radius).astype(np.float32)
    mids = (levels[1:] + levels[:-1]) / 2
    q = levels[np.searchsorted(mids, mag)] * np.where(signed_radius < 0, -1.0, 1.0).astype(np.float32)
    radii, inverse = np.unique(-q, return_inverse=True)  # ascending -c == back to front
    return inverse.reshape(signed_radius.shape).astype(np.int32), (-radii).astype(np.float32)


def _convolve_valid(inp: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Valid linear convolution of (C, Hi, Wi) with each (k, k) kernel: (V, C, Hi-k+1, Wi-k+1)."""
    ksize = kernels.shape[-1]
    half = ksize // 2
    _, hi, wi = inp.shape
    if ksize <= _DIRECT_MAX:
        out = np.empty((kernels.shape[0], inp.shape[0], hi - 2 * half, wi - 2 * half), np.float32)
        for v, k in enumerate(kernels):
            # filter2D correlates; a kernel rotated by 180 degrees makes it a convolution.
            flipped = np.ascontiguousarray(k[::-1, ::-1])
            for c, plane in enumerate(inp):
                out[v, c] = cv2.filter2D(plane, cv2.CV_32F, flipped, borderType=cv2.BORDER_CONSTANT)[
                    half:hi - half, half:wi - half]
        return out
    n, m = sfft.next_fast_len(hi, real=True), sfft.next_fast_len(wi, real=True)
    spec = sfft.rfft2(inp, s=(n, m))
    kspec = sfft.rfft2(kernels, s=(n, m))
    out = sfft.irfft2(kspec[:, None] * spec[None], s=(n, m))
    # With an FFT size >= Hi, circular wrap-around only touches full-convolution indices < 2*half.
    return out[..., 2 * half:hi, 2 * half:wi]


def composite(image: np.ndarray, rank: np.ndarray, kernels: Sequence[np.ndarray],
              crop: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Render the layered scene once per view.

    Args:
        image: C x H x W float32 (linear light).
        rank: H x W int layer index of each pixel, 0 = farthest.
        kernels: per layer, a (V, k, k) stack of that layer's PSF for each of the V views
            (k odd; 1 x 1 means no blur).
        crop: (y0, y1, x0, x1), the only output region wanted (default: all); the rest of the
            canvas only provides context.

    Returns:
        V x C x h x w float32, (h, w) the crop size.
    """
    ch, h, w = image.shape
    cy0, cy1, cx0, cx1 = crop or (0, h, 0, w)
    nviews = kernels[0].shape[0]
    acc = np.zeros((nviews, ch, cy1 - cy0, cx1 - cx0), np.float32)  # S
    cov = np.zeros((nviews, 1, cy1 - cy0, cx1 - cx0), np.float32)  # W
    for k, kern in enumerate(kernels):
        mask = rank == k
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            continue
        half = kern.shape[-1] // 2
        # Output box: the layer's bounding box grown by the blur; input box: grown once more.
        oy0, oy1 = max(rows[0] - half, cy0), min(rows[-1] + 1 + half, cy1)
        ox0, ox1 = max(cols[0] - half, cx0), min(cols[-1] + 1 + half, cx1)
        if oy0 >= oy1 or ox0 >= ox1:
            continue
        iy0, iy1, ix0, ix1 = oy0 - half, oy1 + half, ox0 - half, ox1 + half
        sy0, sy1, sx0, sx1 = max(iy0, 0), min(iy1, h), max(ix0, 0), min(ix1, w)
        inp = np.zeros((ch + 2, iy1 - iy0, ix1 - ix0), np.float32)
        alpha = mask[sy0:sy1, sx0:sx1]
        window = image[:, sy0:sy1, sx0:sx1]
        dst = inp[:, sy0 - iy0:sy1 - iy0, sx0 - ix0:sx1 - ix0]
        np.multiply(window, alpha, out=dst[:ch])
        dst[ch] = alpha
        dst[ch + 1] = rank[sy0:sy1, sx0:sx1] <= k
        layer_pixels = window[:, alpha]
        lo, hi = layer_pixels.min(axis=1)[:, None, None], layer_pixels.max(axis=1)[:, None, None]
        if kern.shape[-1] == 1:
            blurred = kern[:, 0, 0][:, None, None, None] * inp[None]
        else:
            blurred = _convolve_valid(inp, kern)
        colour, m, e = blurred[:, :ch], blurred[:, ch:ch + 1], blurred[:, ch + 1:]
        # a = m / E and F = a * (colour / m), with colour / m (the layer's local mean colour) clipped
        # to the layer's colour range: where both blurred masks are tiny, float32 round-off would
        # otherwise make the two ratios disagree (and a constant image not constant).
        valid = (m > _TINY) & (e > _TINY)
        inv_m = np.divide(1.0, m, out=np.zeros_like(m), where=valid)
        a = np.minimum(m / np.maximum(e, _TINY), 1.0)
        a *= valid
        mean_colour = colour * inv_m
        np.minimum(mean_colour, hi, out=mean_colour)
        np.maximum(mean_colour, lo, out=mean_colour)
        s_box = acc[..., oy0 - cy0:oy1 - cy0, ox0 - cx0:ox1 - cx0]
        w_box = cov[..., oy0 - cy0:oy1 - cy0, ox0 - cx0:ox1 - cx0]
        mean_colour -= s_box
        mean_colour *= a
        s_box += mean_colour  # S <- a F' + (1 - a) S, with F = a F'
        w_box += a * (1.0 - w_box)
    out = np.zeros_like(acc)
    np.divide(acc, cov, out=out, where=cov > _TINY)
    return out


def render(image: np.ndarray, signed_radius: np.ndarray, kernel_fn: Callable[[float], np.ndarray],
           levels: np.ndarray | None = None, crop: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Layered defocus render of `image` (H x W x C) with per-pixel signed blur radius (H x W): V x H x W x C.

    `kernel_fn(c)` returns the (V, k, k) stack of view kernels for signed radius c. The canvas edge
    is treated as the edge of the world (coverage-normalized), so callers that need the blur near the
    border to see outside content should pad first and pass `crop` = (y0, y1, x0, x1), the region
    to render (see `simulate.render_dp`).
    """
    if image.ndim != 3 or signed_radius.shape != image.shape[:2]:
        raise ValueError(f"image {image.shape} and radius {signed_radius.shape} must be H x W x C and H x W")
    if levels is None:
        levels = radius_levels(max(float(np.abs(signed_radius).max()), 0.5))
    rank, radii = quantize_radius(signed_radius, levels)
    kernels = [np.asarray(kernel_fn(float(c)), np.float32) for c in radii]
    out = composite(np.ascontiguousarray(image.transpose(2, 0, 1), np.float32), rank, kernels, crop)
    return out.transpose(0, 2, 3, 1)
