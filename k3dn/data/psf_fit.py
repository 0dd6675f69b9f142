"""Fit dual-pixel PSFs to a DP pair with no ground truth, from the cross-convolution constraint.

Both views are the same scene S blurred by the two half-aperture kernels, B_L = S * K_L and
B_R = S * K_R, so B_L * K_R = B_R * K_L whatever S is. Per block (Hann-windowed, each view divided by
its own mean, which removes the left/right gain difference) and per frequency f, with view noise of
equal power the maximum-likelihood residual is

    E(f) = |B_L(f) K_R(f) - B_R(f) K_L(f)|^2 / (|K_L(f)|^2 + |K_R(f)|^2)

Convolving both kernels with the same blur G multiplies numerator and denominator by |G(f)|^2, so E
cannot see G: kernels are fitted *up to a shared blur*. What the constraint does see is how the two
kernels differ, i.e. the disparity and the sharp aperture edge, which is why the family below has no
smoothing term (any Gaussian/aberration blur common to both views is the shared blur).

The family (`PsfShape`, dp_family.py) is a disc of radius r (the blur size) with
  * an apodization: weight 1 + apod (2 rho^2 / r^2 - 1) (apod > 0: brighter rim, as real DP PSFs);
  * a left-right ramp: 1 + ramp ((x + chord sqrt(r^2 - y^2) + (1 - chord) r) / r - 1), clipped at 0
    (ramp = chord = 1 is the Punnappurath translating disc, chord = 0 a straight ramp as in RDPD;
    ramp > 1 approaches a half disc), which sets how the disparity relates to the blur size;
  * a left/right asymmetry: the right photodiode's ramp is ramp (1 + asym), the left one's
    ramp (1 - asym), so K_L is not the mirror image of K_R when asym != 0 (as on phones).

Per block the signed radius c is found on a grid (refined by a parabola); the shape is shared by all
blocks of a fit and found by a grid search and then Nelder-Mead on the mean per-block-normalized
residual. Since each
block's cost is a quadratic form in its cross-spectra, all radii of all blocks cost three matrix
products per shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from .dp_family import SHAPE_BOUNDS, SHAPE_FIELDS, PsfShape, family_kernels, kernel_disparity

__all__ = ["SHAPE_BOUNDS", "SHAPE_FIELDS", "BlockSpectra", "PsfFit", "PsfShape", "block_spectra", "family_kernels",
           "fit_psf", "fit_radii", "kernel_disparity", "merge_spectra", "radius_costs", "radius_grid",
           "select_blocks", "validate_on_simulated"]

EPS = 1e-9  # guards 0/0 only: a larger floor lets wide kernels hide view noise at high frequencies
def radius_grid(max_radius: float, step: float = 0.1, rel: float = 0.04) -> np.ndarray:
    """Signed radii: steps of `step` px, or `rel` of the radius where that is larger, mirrored, with 0."""
    pos = [0.0]
    while pos[-1] < max_radius:
        pos.append(pos[-1] + max(step, rel * pos[-1]))
    pos = np.asarray(pos[1:])
    return np.concatenate([-pos[::-1], [0.0], pos])


@dataclass
class BlockSpectra:
    """Cross-spectra of the blocks of one or more DP pairs (rfft2 layout, summed over colour channels)."""

    p_ll: np.ndarray  # (B, F) |B_L|^2
    p_rr: np.ndarray  # (B, F) |B_R|^2
    p_lr: np.ndarray  # (B, F) B_L conj(B_R)
    centres: np.ndarray  # (B, 2) block centres (y, x) in px of their image
    field: np.ndarray  # (B, 2) block centres in normalized frame coordinates [-1, 1] (x, y)
    image_index: np.ndarray  # (B,) which pair each block came from
    size: int


def _hann(n: int) -> np.ndarray:
    w = np.hanning(n + 2)[1:-1]
    return np.outer(w, w)


def block_spectra(left: np.ndarray, right: np.ndarray, size: int = 64, stride: int = 32,
                  min_texture: float = 2e-3, image_index: int = 0) -> BlockSpectra:
    """Blocks of a (linear-light) H x W x 3 pair with enough texture, as cross-spectra.

    A block is kept if the standard deviation of its contrast (view / mean - 1, both views) is above
    `min_texture`: flat blocks carry no blur information, only noise.
    """
    left = np.asarray(left, np.float64)
    right = np.asarray(right, np.float64)
    if left.shape != right.shape or left.ndim != 3:
        raise ValueError(f"left {left.shape} and right {right.shape} must be the same H x W x C")
    h, w = left.shape[:2]
    if h < size or w < size:
        raise ValueError(f"image {h}x{w} is smaller than one {size}-px block")
    win = _hann(size)[..., None]
    lls, rrs, lrs, centres, field = [], [], [], [], []
    for y0 in range(0, h - size + 1, stride):
        for x0 in range(0, w - size + 1, stride):
            bl, br = left[y0:y0 + size, x0:x0 + size], right[y0:y0 + size, x0:x0 + size]
            ml, mr = bl.mean(axis=(0, 1)), br.mean(axis=(0, 1))
            if np.any(ml <= 1e-4) or np.any(mr <= 1e-4):
                continue
            cl, cr = bl / ml - 1.0, br / mr - 1.0
            if min(cl.std(), cr.std()) < min_texture:
                continue
            fl = np.fft.rfft2(cl * win, axes=(0, 1))
            fr = np.fft.rfft2(cr * win, axes=(0, 1))
            lls.append((np.abs(fl) ** 2).sum(-1).ravel())
            rrs.append((np.abs(fr) ** 2).sum(-1).ravel())
            lrs.append((fl * np.conj(fr)).sum(-1).ravel())
            cy, cx = y0 + size / 2, x0 + size / 2
            centres.append((cy, cx))
            field.append((2 * cx / w - 1, 2 * cy / h - 1))
    n = len(lls)
    f = size * (size // 2 + 1)
    return BlockSpectra(np.asarray(lls).reshape(n, f), np.asarray(rrs).reshape(n, f),
                        np.asarray(lrs).reshape(n, f), np.asarray(centres).reshape(n, 2),
                        np.asarray(field).reshape(n, 2), np.full(n, image_index), size)


def merge_spectra(parts: list[BlockSpectra]) -> BlockSpectra:
    """Concatenate the blocks of several pairs (same block size)."""
    if not parts:
        raise ValueError("no block spectra to merge")
    return BlockSpectra(*(np.concatenate([getattr(p, k) for p in parts]) for k in
                          ("p_ll", "p_rr", "p_lr", "centres", "field", "image_index")), parts[0].size)


def select_blocks(spectra: BlockSpectra, mask: np.ndarray) -> BlockSpectra:
    """The blocks where `mask` is true."""
    return BlockSpectra(spectra.p_ll[mask], spectra.p_rr[mask], spectra.p_lr[mask], spectra.centres[mask],
                        spectra.field[mask], spectra.image_index[mask], spectra.size)


def _kernel_spectrum(kernel: np.ndarray, size: int) -> np.ndarray:
    """rfft2 of a kernel centred at pixel (0, 0) of a size x size canvas (the view spectra's frame)."""
    k = kernel.shape[0]
    if k > size:
        c = k // 2
        kernel = kernel[c - size // 2:c - size // 2 + size, c - size // 2:c - size // 2 + size]
        k = size
    canvas = np.zeros((size, size))
    canvas[:k, :k] = kernel
    canvas = np.roll(canvas, (-(k // 2), -(k // 2)), axis=(0, 1))
    return np.fft.rfft2(canvas).ravel()


def radius_costs(spectra: BlockSpectra, shape: PsfShape, radii: np.ndarray) -> np.ndarray:
    """(B, R) normalized cross-convolution residual of every block at every signed radius."""
    weights_a, weights_b, weights_c = [], [], []
    for c in radii:
        kl, kr = family_kernels(float(c), shape)
        fl, fr = _kernel_spectrum(kl, spectra.size), _kernel_spectrum(kr, spectra.size)
        den = np.abs(fl) ** 2 + np.abs(fr) ** 2 + EPS
        weights_a.append(np.abs(fr) ** 2 / den)
        weights_b.append(np.abs(fl) ** 2 / den)
        weights_c.append(fr * np.conj(fl) / den)
    a, b, c = np.asarray(weights_a), np.asarray(weights_b), np.asarray(weights_c)
    cost = spectra.p_ll @ a.T + spectra.p_rr @ b.T - 2.0 * np.real(spectra.p_lr @ c.T)
    energy = (spectra.p_ll + spectra.p_rr).sum(axis=1, keepdims=True) / 2 + 1e-12
    return np.maximum(cost, 0.0) / energy


def _refine(costs: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per block: the grid minimum refined by a parabola through it and its neighbours, and the parabola's
    minimum cost (so a shape whose best radius falls between grid points is not penalized for it)."""
    i = np.argmin(costs, axis=1)
    rows = np.arange(costs.shape[0])
    best = radii[i].astype(np.float64)
    best_cost = costs[rows, i].astype(np.float64)
    inner = (i > 0) & (i < len(radii) - 1)
    j = i[inner]
    r = rows[inner]
    c0, c1, c2 = costs[r, j - 1], costs[r, j], costs[r, j + 1]
    x0, x1, x2 = radii[j - 1], radii[j], radii[j + 1]
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    ok = np.abs(denom) > 1e-12
    safe = np.where(ok, denom, 1.0)
    a = (x2 * (c1 - c0) + x1 * (c0 - c2) + x0 * (c2 - c1)) / safe
    b = (x2 * x2 * (c0 - c1) + x1 * x1 * (c2 - c0) + x0 * x0 * (c1 - c2)) / safe
    c = (x1 * x2 * (x1 - x2) * c0 + x2 * x0 * (x2 - x0) * c1 + x0 * x1 * (x0 - x1) * c2) / safe
    convex = ok & (a > 0)
    vertex = np.clip(np.where(convex, -b / (2 * np.where(convex, a, 1.0)), x1), x0, x2)
    best[inner] = vertex
    best_cost[inner] = np.where(convex, np.minimum(a * vertex * vertex + b * vertex + c, c1), c1)
    return best, np.maximum(best_cost, 0.0)


@dataclass
class PsfFit:
    """Result of `fit_psf`: the shared shape and, per block, signed radius, disparity and residual."""

    shape: PsfShape
    radius: np.ndarray  # (B,) signed radius c, px
    disparity: np.ndarray  # (B,) centroid(K_R) - centroid(K_L) of the fitted kernels, px
    cost: np.ndarray  # (B,) normalized residual at the fit
    cost_zero: np.ndarray  # (B,) residual of c = 0 (no blur difference): how much the fit explains
    spectra: BlockSpectra

    def summary(self, min_gain: float = 0.2) -> dict:
        """JSON-able summary: the shape, and over the informative blocks the median |c| and |d| and the
        disparity-to-blur relation d = slope * |c|."""
        keep = self.informative(min_gain)
        r, d = np.abs(self.radius[keep]), np.abs(self.disparity[keep])
        slope = float((r * d).sum() / max((r * r).sum(), 1e-12)) if keep.any() else float("nan")
        return {"shape": asdict(self.shape), "blocks": int(len(self.radius)), "informative_blocks": int(keep.sum()),
                "median_abs_radius": float(np.median(r)) if keep.any() else float("nan"),
                "median_abs_disparity": float(np.median(d)) if keep.any() else float("nan"),
                "disparity_per_radius": slope, "mean_cost": float(self.cost.mean()) if len(self.cost) else 0.0}

    def informative(self, min_gain: float = 0.2) -> np.ndarray:
        """Blocks where the fitted kernels explain at least `min_gain` of the c = 0 residual (defocused ones)."""
        return self.cost < (1.0 - min_gain) * self.cost_zero


def fit_radii(spectra: BlockSpectra, shape: PsfShape, max_radius: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-block signed radius (px) and its residual for a fixed shape."""
    radii = radius_grid(max_radius)
    return _refine(radius_costs(spectra, shape, radii), radii)


def _disparities(radius: np.ndarray, shape: PsfShape) -> np.ndarray:
    return np.asarray([kernel_disparity(*family_kernels(float(c), shape)) for c in radius])


SHAPE_GRID = {"ramp": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0), "chord": (0.0, 0.5, 1.0), "apod": (-0.4, 0.0, 0.4, 0.8),
              "asym": (0.0,)}


def fit_psf(spectra: BlockSpectra, max_radius: float = 12.0, fit_fields: tuple[str, ...] = SHAPE_FIELDS,
            start: PsfShape | None = None, max_evals: int = 60, max_blocks: int = 300,
            grid: bool = True) -> PsfFit:
    """Fit the shared shape (the fields in `fit_fields`) and every block's signed radius.

    The objective is the mean per-block residual at each block's best radius. The shape is searched on
    a coarse grid (SHAPE_GRID, the residual has several shallow valleys) and then refined by Nelder-Mead;
    both use a coarser radius grid and at most `max_blocks` blocks, the final radii the full grid and
    every block. Fields not in `fit_fields` stay at `start`'s values; `grid=False` starts Nelder-Mead
    from `start` instead of the best grid point.
    """
    import itertools

    from scipy.optimize import minimize

    start = start or PsfShape()
    if len(spectra.p_ll) == 0:
        raise ValueError("no textured blocks to fit")
    unknown = set(fit_fields) - set(SHAPE_FIELDS)
    if unknown:
        raise ValueError(f"unknown shape fields {sorted(unknown)}; choose from {SHAPE_FIELDS}")
    radii = radius_grid(max_radius)
    coarse = radius_grid(max_radius, step=0.2, rel=0.08)
    n = len(spectra.p_ll)
    sub = spectra if n <= max_blocks else select_blocks(
        spectra, np.isin(np.arange(n), np.random.default_rng(0).choice(n, max_blocks, replace=False)))

    def make(v) -> PsfShape:
        return replace(start, **dict(zip(fit_fields, (float(x) for x in v), strict=True))).clipped()

    def objective(v) -> float:
        shape = make(v)
        penalty = sum((getattr(shape, k) - x) ** 2 for k, x in zip(fit_fields, v, strict=True))
        return float(_refine(radius_costs(sub, shape, coarse), coarse)[1].mean()) + 10.0 * penalty

    shape = start.clipped()
    if fit_fields:
        axes = [SHAPE_GRID[k] for k in fit_fields]
        x0 = np.asarray(min(itertools.product(*axes), key=objective) if grid
                        else [getattr(start, k) for k in fit_fields], np.float64)
        simplex = [x0] + [x0 + np.eye(len(x0))[i] * 0.15 for i in range(len(x0))]
        res = minimize(objective, x0, method="Nelder-Mead",
                       options={"maxfev": max_evals, "initial_simplex": np.asarray(simplex), "xatol": 0.02,
                                "fatol": 1e-6})
        shape = make(res.x if res.fun <= objective(x0) else x0)
    costs = radius_costs(spectra, shape, radii)
    radius, cost = _refine(costs, radii)
    zero = costs[:, len(radii) // 2]
    return PsfFit(shape, radius, _disparities(radius, shape), cost, zero, spectra)


def validate_on_simulated(family: str, radius: float, size: int = 384, block: int = 96, seed: int = 0,
                          fit_fields: tuple[str, ...] = ("ramp", "chord", "apod")) -> dict:
    """Fit a simulated fronto-parallel pair (a bundled photo at constant signed radius, mild noise) whose true
    kernels are known, and compare: true vs fitted |c| and disparity (median over defocused blocks)."""
    from .dp_psf import dp_kernels
    from .photos import bundled_scene
    from .sensor import srgb_to_linear
    from .simulate import simulate_pair

    image, _ = bundled_scene((size, size), np.random.default_rng(seed))
    sim = simulate_pair(image, np.full((size, size), radius, np.float32), family, seed=seed, noise=(1e-4, 1e-3))
    true_d = kernel_disparity(*dp_kernels(radius, family))
    spectra = block_spectra(srgb_to_linear(sim["left"]), srgb_to_linear(sim["right"]), block, block // 2)
    fit = fit_psf(spectra, max_radius=max(12.0, 1.5 * abs(radius)), fit_fields=fit_fields)
    keep = fit.informative()
    r, d = float(np.median(fit.radius[keep])), float(np.median(fit.disparity[keep]))
    return {"family": family, "radius": radius, "fitted_radius": r, "disparity": true_d, "fitted_disparity": d,
            "radius_error": r / radius - 1.0, "disparity_error": d / true_d - 1.0, "shape": asdict(fit.shape),
            "blocks": int(keep.sum())}
