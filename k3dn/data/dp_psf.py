"""Left/right dual-pixel PSFs: two published half-aperture kernel families.

Both families build the *right* view's kernel for a positive signed radius c (point behind the
focal plane), whose weight leans to +x; then

    K_R(c) = base(|c|),  K_L(c) = flip(K_R(c))      for c >= 0
    K_R(c) = flip(base(|c|)),  K_L(c) = base(|c|)   for c < 0

so K_L == flip(K_R) about the vertical axis exactly, and the two swap sides when c changes sign.
Each kernel sums to 1 and (K_L + K_R) / 2 is the full-aperture kernel a normal sensor would see.

Families:

* ``"butterworth"`` -- Abuolaim, Delbracio, Kelly, Brown, Milanfar, "Learning to Reduce Defocus
  Blur by Realistically Modeling Dual-Pixel Data", ICCV 2021 (RDPD): a disc of radius r times a 2-D
  high-pass Butterworth filter of order n and cut-off D0 = 2r / cutoff (the brighter rim of real DP
  PSFs), rescaled to [beta, 1], smoothed by a Gaussian, times a linear left-right ramp over the
  kernel support. Their grid: n in {3, 6, 9}, cutoff in {2, 2.5}, beta in {0.1, 0.2}, smooth = 7.
* ``"disc"`` -- Punnappurath, Abuolaim, Afifi, Brown, "Modeling Defocus-Disparity in Dual-Pixel
  Sensors", ICCP 2020: the translating-disc kernel, the sum over shifts t in [0, 2r] of the overlap
  of the disc with its copy shifted by t. In closed form each row y of the disc is weighted by
  x + sqrt(r^2 - y^2), a ramp from 0 at its left end to its chord length at its right end.

The calibrated families fitted to real views (``"calibrated_dslr"``, ``"calibrated_phone"``) live in
dp_family.py; ``FAMILIES`` (the two published ones) is what training and evaluation draw from by default.

Radii are continuous: the kernels are integrated on a fine lattice (anti-aliased disc edge) and
splatted bilinearly onto the pixel grid, which keeps their centre of mass, hence the disparity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

FAMILIES = ("butterworth", "disc")


@dataclass(frozen=True)
class ButterworthParams:
    """RDPD kernel shape (their names in brackets).

    Attributes:
        order: Butterworth order n [order].
        cutoff: D0 = 2r / cutoff [cut_off_factor].
        beta: the apodization is rescaled to [beta, 1] [beta].
        smooth: Gaussian smoothing strength, kappa = 1 / smooth [smooth_strength].
    """

    order: int = 3
    cutoff: float = 2.5
    beta: float = 0.1
    smooth: float = 7.0


RDPD_GRID: tuple[ButterworthParams, ...] = tuple(
    ButterworthParams(order, cutoff, beta) for order in (3, 6, 9) for cutoff in (2.5, 2.0) for beta in (0.1, 0.2))


def smoothing_sigma(radius: float, smooth: float = 7.0) -> float:
    """Gaussian sigma (px) of the RDPD kernel of radius r.

    RDPD blurs a (2r+1)-wide kernel with an OpenCV Gaussian of size round((2r+1)/smooth)+1, which
    is the identity below r ~ 6 and sigma 0.8 -> 1.4 for r = 7 -> 20. This is a continuous fit of
    that rule (sigma = 0.86 at r = 7, 1.1 at r = 12, 1.45 at r = 20) so the kernel shape does not jump
    between neighbouring radii.
    """
    scale = 7.0 / smooth
    return float(scale * min(radius / 8.0, 0.55 + 0.045 * radius))


def _lattice(radius: float, supersample: int) -> tuple[np.ndarray, np.ndarray]:
    """Points of a square lattice of pitch 1/supersample covering [-r, r]^2, symmetric about 0."""
    m = int(math.ceil(radius * supersample))
    t = (np.arange(-m, m, dtype=np.float64) + 0.5) / supersample
    return np.meshgrid(t, t)


def _splat(x: np.ndarray, y: np.ndarray, weight: np.ndarray, half: int) -> np.ndarray:
    """Bilinear (tent) splatting of point masses onto the pixel grid [-half, half]^2.

    Unlike binning each point into the pixel it falls in, this keeps the centre of mass exactly, so
    the DP disparity of small kernels varies continuously with the radius.
    """
    n = 2 * half + 1
    fx, fy = np.floor(x), np.floor(y)
    tx, ty = x - fx, y - fy
    ix, iy = fx.astype(np.int64) + half, fy.astype(np.int64) + half
    out = np.zeros(n * n)
    for dx, wx in ((0, 1 - tx), (1, tx)):
        for dy, wy in ((0, 1 - ty), (1, ty)):
            out += np.bincount(((iy + dy) * n + ix + dx).ravel(), weights=(weight * wx * wy).ravel(), minlength=n * n)
    return out.reshape(n, n)


def _gaussian_blur(kernel: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.05:
        return kernel
    half = int(math.ceil(3 * sigma))
    t = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    out = np.apply_along_axis(np.convolve, 0, kernel, g, mode="same")
    return np.apply_along_axis(np.convolve, 1, out, g, mode="same")


def butterworth_right(radius: float, params: ButterworthParams = ButterworthParams(),
                      supersample: int = 8) -> np.ndarray:
    """RDPD right-view kernel for a point behind the focal plane (weight on +x), float64, sums to 1."""
    sigma = smoothing_sigma(radius, params.smooth)
    half = int(math.ceil(radius + 1 + 2 * sigma))
    x, y = _lattice(radius, supersample)
    d2 = x * x + y * y
    d0 = 2.0 * radius / params.cutoff

    def highpass(dist2: np.ndarray | float) -> np.ndarray:
        e = (np.asarray(dist2) / (d0 * d0)) ** params.order
        return e / (1.0 + e)

    # RDPD rescales the Butterworth over the square (2r+1) kernel: 0 at the centre, max at a corner.
    apod = params.beta + (1.0 - params.beta) * highpass(d2) / highpass(2.0 * radius * radius)
    kernel = _gaussian_blur(_splat(x, y, (d2 <= radius * radius) * apod, half), sigma)
    ramp = (np.arange(-half, half + 1, dtype=np.float64) + half) / (2.0 * half)  # 0 -> 1, left -> right
    kernel = kernel * ramp[None, :]
    return kernel / kernel.sum()


def translating_disc_right(radius: float, supersample: int = 8) -> np.ndarray:
    """Punnappurath et al. translating-disc right-view kernel (weight on +x), float64, sums to 1."""
    half = int(math.ceil(radius)) + 1
    x, y = _lattice(radius, supersample)
    inside = x * x + y * y <= radius * radius
    weight = np.where(inside, x + np.sqrt(np.maximum(radius * radius - y * y, 0.0)), 0.0)
    kernel = _splat(x, y, weight, half)
    return kernel / kernel.sum()


@lru_cache(maxsize=1024)
def _base_kernel(radius: float, family: str, params: ButterworthParams) -> np.ndarray:
    if radius <= 0:
        k = np.ones((1, 1), dtype=np.float32)
    elif family == "butterworth":
        k = butterworth_right(radius, params).astype(np.float32)
    elif family == "disc":
        k = translating_disc_right(radius).astype(np.float32)
    else:
        raise ValueError(f"unknown kernel family {family!r}; choose one of {FAMILIES}")
    k /= k.sum(dtype=np.float64)
    k.setflags(write=False)
    return k


def dp_kernels(signed_radius: float, family: str = "butterworth",
               params: ButterworthParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(K_L, K_R), float32 (2h+1) x (2h+1), for one signed blur radius in pixels.

    c = 0 gives the 1x1 identity for both views (in-focus points are not blurred).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown kernel family {family!r}; choose one of {FAMILIES} (calibrated families: "
                         "dp_family.view_kernels)")
    params = params or ButterworthParams()
    if family == "disc":
        params = ButterworthParams()  # unused: one cache entry per radius
    base = _base_kernel(round(abs(float(signed_radius)), 6), family, params)
    if signed_radius >= 0:
        right = base.copy()
    else:
        right = base[:, ::-1].copy()
    return right[:, ::-1].copy(), right


def full_aperture_kernel(signed_radius: float, family: str = "butterworth",
                         params: ButterworthParams | None = None) -> np.ndarray:
    """(K_L + K_R) / 2: what a conventional sensor (both photodiodes summed) sees."""
    k_left, k_right = dp_kernels(signed_radius, family, params)
    return (k_left + k_right) / 2


def kernel_centroid(kernel: np.ndarray) -> float:
    """Horizontal centre of mass (px, relative to the kernel centre)."""
    half = kernel.shape[1] // 2
    x = np.arange(-half, half + 1, dtype=np.float64)
    return float((kernel.sum(axis=0, dtype=np.float64) * x).sum() / kernel.sum(dtype=np.float64))
