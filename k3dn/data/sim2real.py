"""Sim-to-real statistics of DP pairs that need no ground truth, and the fitted-kernel figure.

Per textured block of a pair (both views, no ground truth):
  * `disparity`: horizontal shift that best aligns the right view to the left (block matching, SSD,
    parabola-refined), in px: model free.
  * `blur`: Gaussian-equivalent blur sigma of (L + R) / 2 by the re-blur gradient ratio of Hu and de
    Haan ("Low cost robust blur estimator", ICIP 2006): at the strongest edges of the block, with
    g, g_a, g_b the gradient magnitudes of the block and of its re-blurs by sigma_a < sigma_b,
    r = (g - g_a) / (g_a - g_b), which falls as the blur grows; sigma is read off the same ratio measured on
    an ideal step edge blurred by known Gaussians (the closed form ignores the discrete gradient's own blur).
  * `lr_spectrum`: the radially averaged power of L - R over that of (L + R) / 2 in octave bands, i.e.
    how much each spatial frequency differs between the views (it grows with the kernels' asymmetry).

`measure(pairs)` pools them: the median of |d| / sigma over defocused blocks (the disparity-to-blur
relation the issue measured with ground truth, here without), the quartiles of |d| and sigma, and the
mean log10 band spectrum. `distance(a, b)` compares two such summaries.
"""

from __future__ import annotations

import math

import numpy as np

SIGMA_A, SIGMA_B = 1.5, 3.0
BANDS = (0.03125, 0.0625, 0.125, 0.25, 0.5)  # cycles/px band edges (octaves below Nyquist)


def _gray(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32).mean(axis=2) if x.ndim == 3 else np.asarray(x, np.float32)


def block_disparity(left: np.ndarray, right: np.ndarray, max_shift: int = 8) -> float:
    """Sub-pixel horizontal shift s (px) minimizing the SSD of L(x) and R(x + s) over the block interior."""
    h, w = left.shape
    m = max_shift + 1
    a = left[:, m:w - m]
    costs = np.array([np.mean((a - right[:, m + s:w - m + s]) ** 2) for s in range(-max_shift, max_shift + 1)])
    i = int(np.argmin(costs))
    s = float(i - max_shift)
    if 0 < i < len(costs) - 1:
        c0, c1, c2 = costs[i - 1], costs[i], costs[i + 1]
        den = c0 - 2 * c1 + c2
        if den > 0:
            s += 0.5 * (c0 - c2) / den
    return s


def _edge_ratio(gray: np.ndarray) -> float:
    """Median (g - g_a) / (g_a - g_b) at the block's strongest 5 % gradients (see the module docstring)."""
    import cv2

    def grad(x: np.ndarray) -> np.ndarray:
        gx = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3)
        return np.hypot(gx, gy)

    gray = np.asarray(gray, np.float32)
    g = grad(gray)
    ga = grad(cv2.GaussianBlur(gray, (0, 0), SIGMA_A, borderType=cv2.BORDER_REFLECT))
    gb = grad(cv2.GaussianBlur(gray, (0, 0), SIGMA_B, borderType=cv2.BORDER_REFLECT))
    inner = (slice(6, -6), slice(6, -6))
    g, ga, gb = g[inner], ga[inner], gb[inner]
    edges = g >= np.quantile(g, 0.95)
    return float(np.median((g[edges] - ga[edges]) / np.maximum(ga[edges] - gb[edges], 1e-6)))


_TABLE: tuple[np.ndarray, np.ndarray] | None = None


def _ratio_table() -> tuple[np.ndarray, np.ndarray]:
    """(ratio, sigma) of an ideal step edge blurred by known Gaussians: the ratio's inverse, measured with the
    same discrete gradients (which the closed form ignores), so sigma means the same on every input."""
    global _TABLE
    if _TABLE is None:
        import cv2

        sigmas = np.concatenate([[0.0], np.geomspace(0.3, 10.0, 40)])
        step = np.zeros((64, 64), np.float32)
        step[:, 32:] = 1.0
        ratios = [_edge_ratio(cv2.GaussianBlur(step, (0, 0), s, borderType=cv2.BORDER_REFLECT) if s else step)
                  for s in sigmas]
        order = np.argsort(ratios)
        _TABLE = (np.asarray(ratios)[order], sigmas[order])
    return _TABLE


def block_blur(gray: np.ndarray) -> float:
    """Gaussian-equivalent blur sigma (px) of a block, from the re-blur gradient ratio at its strongest edges."""
    ratios, sigmas = _ratio_table()
    return float(np.interp(_edge_ratio(gray), ratios, sigmas))


def lr_spectrum(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Power of L - R over power of (L + R) / 2 in each BANDS octave (Hann-windowed block)."""
    n = left.shape[0]
    win = np.outer(np.hanning(n), np.hanning(left.shape[1]))
    mean = (left + right) / 2
    pd = np.abs(np.fft.fft2((left - right) * win)) ** 2
    ps = np.abs(np.fft.fft2((mean - mean.mean()) * win)) ** 2
    fy = np.fft.fftfreq(left.shape[0])[:, None]
    fx = np.fft.fftfreq(left.shape[1])[None, :]
    f = np.hypot(fx, fy)
    out = []
    for lo, hi in zip(BANDS[:-1], BANDS[1:], strict=True):
        band = (f >= lo) & (f < hi)
        out.append(pd[band].sum() / max(ps[band].sum(), 1e-12))
    return np.asarray(out)


def block_stats(left: np.ndarray, right: np.ndarray, size: int = 48, min_texture: float = 0.02) -> dict:
    """Per textured block of an sRGB pair (H x W x 3 in [0, 1]): disparity, blur and L-R band spectrum."""
    gl, gr = _gray(left), _gray(right)
    h, w = gl.shape
    disp, blur, spec = [], [], []
    for y0 in range(0, h - size + 1, size):
        for x0 in range(0, w - size + 1, size):
            a, b = gl[y0:y0 + size, x0:x0 + size], gr[y0:y0 + size, x0:x0 + size]
            if (a.std() + b.std()) / 2 < min_texture:
                continue
            disp.append(block_disparity(a, b))
            blur.append(block_blur((a + b) / 2))
            spec.append(lr_spectrum(a, b))
    return {"disparity": np.asarray(disp), "blur": np.asarray(blur),
            "spectrum": np.asarray(spec).reshape(-1, len(BANDS) - 1)}


def measure(pairs: list[tuple[np.ndarray, np.ndarray]], size: int = 48) -> dict:
    """Pooled sim-to-real summary of sRGB pairs (see the module docstring); JSON-able."""
    stats = [block_stats(a, b, size) for a, b in pairs]
    d = np.concatenate([s["disparity"] for s in stats])
    sigma = np.concatenate([s["blur"] for s in stats])
    spec = np.concatenate([s["spectrum"] for s in stats])
    defocused = (np.abs(d) >= 0.5) & (sigma > 0.3)
    ratio = np.abs(d[defocused]) / sigma[defocused]

    def q(x: np.ndarray) -> list[float]:
        return [float(v) for v in np.percentile(x, [25, 50, 75])] if len(x) else [math.nan] * 3

    return {"pairs": len(pairs), "blocks": int(len(d)), "defocused_blocks": int(defocused.sum()),
            "defocused_share": float(defocused.mean()) if len(d) else math.nan,
            "abs_disparity_q": q(np.abs(d[defocused])), "blur_sigma_q": q(sigma[defocused]),
            "disparity_per_sigma_q": q(ratio),
            "lr_log10_spectrum": [float(v) for v in np.log10(np.maximum(spec.mean(axis=0), 1e-12))]
            if len(spec) else []}


def distance(a: dict, b: dict) -> dict:
    """How far summary b is from a: |log ratio| of the median |d|/sigma, mean |log10| spectrum gap."""
    ra, rb = a["disparity_per_sigma_q"][1], b["disparity_per_sigma_q"][1]
    spec = np.abs(np.asarray(a["lr_log10_spectrum"]) - np.asarray(b["lr_log10_spectrum"])).mean()
    return {"log_ratio_gap": float(abs(math.log(rb / ra))) if ra > 0 and rb > 0 else math.nan,
            "spectrum_gap_log10": float(spec)}


# ---- figure: fitted kernels beside the simulator's families at the same disparity -----------------------------

def radius_for_disparity(kernels_of, disparity: float, hi: float = 24.0) -> float:
    """Smallest radius r in (0, hi] whose kernels (kernels_of(r) -> (K_L, K_R)) show this disparity."""
    from .psf_fit import kernel_disparity

    lo, top = 0.3, hi
    if kernel_disparity(*kernels_of(top)) < disparity:
        return top
    for _ in range(30):
        mid = (lo + top) / 2
        if kernel_disparity(*kernels_of(mid)) < disparity:
            lo = mid
        else:
            top = mid
    return (lo + top) / 2


def _tile(kernel: np.ndarray, size: int, scale: float) -> np.ndarray:
    import cv2

    big = cv2.resize(np.asarray(kernel, np.float32), (size, size), interpolation=cv2.INTER_NEAREST)
    return np.clip(big / scale, 0, 1)


def kernel_figure(docs: dict[str, dict], disparity: float | None = None, size: int = 120) -> np.ndarray:
    """Rows: each fitted family (K_L | K_R), then RDPD Butterworth and translating disc, all at the same
    disparity (default: each document's median fitted |d|, at least 1 px); kernels on one padded canvas
    so their sizes compare. Returns an H x W x 3 float image."""
    import cv2

    from .dp_family import shape_at
    from .dp_psf import dp_kernels
    from .psf_fit import family_kernels

    rows = []
    for kind, doc in docs.items():
        d = disparity or max(1.0, float(doc["fit"]["median_abs_disparity"]))
        shape = shape_at(doc)
        entries = [(f"{kind} fitted", lambda r, s=shape: family_kernels(r, s)),
                   ("butterworth", lambda r: dp_kernels(r, "butterworth")),
                   ("disc", lambda r: dp_kernels(r, "disc"))]
        found = [(name, radius_for_disparity(fn, d), fn) for name, fn in entries]
        pairs = [(name, r, fn(r)) for name, r, fn in found]
        half = max(k[0].shape[0] for _, _, k in pairs) // 2
        peak = max(float(np.max(k)) for _, _, ks in pairs for k in ks)
        for name, r, ks in pairs:
            tiles = []
            for k in ks:
                pad = half - k.shape[0] // 2
                tiles.append(_tile(np.pad(k, pad), size, peak))
            label = np.full((size, 260), 255, np.uint8)
            cv2.putText(label, name, (6, size // 2 - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 0, 1, cv2.LINE_AA)
            cv2.putText(label, f"r={r:.2f} d={d:.2f} px", (6, size // 2 + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 1,
                        cv2.LINE_AA)
            label = label.astype(np.float32) / 255.0
            gap = np.ones((size, 4), np.float32)
            rows.append(np.concatenate([label, gap, tiles[0], gap, tiles[1]], axis=1))
        rows.append(np.ones((6, rows[-1].shape[1]), np.float32))
    img = np.concatenate(rows, axis=0)
    return np.repeat(img[..., None], 3, axis=2)
