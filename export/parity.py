"""Parity: an artifact, run in its real runtime, against the float PyTorch reference.

The inputs are small deterministic synthetic DP pairs built here (no dependency on k3dn.data): a
textured RGB image (oriented gratings, a checkerboard, smooth colour blobs, hard edges) split into
three depth layers - an in-focus band that is identical in both views, a background blurred by a
half-aperture disc on one side, a foreground disc blurred by the mirrored half-aperture - so the
views differ by a signed, depth-dependent disparity as real DP pairs do, plus mild sensor noise.

Budgets: fp32 artifacts max |diff| <= 1e-4 and PSNR >= 60 dB; fp16 (CoreML) PSNR >= 45 dB.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .runners import Runner


@dataclass(frozen=True)
class Budget:
    """Largest allowed max |artifact - reference| (None: not checked) and smallest allowed PSNR (dB)."""

    max_abs: float | None
    min_psnr: float

    def describe(self) -> str:
        parts = [f"max|d|<={self.max_abs:g}"] if self.max_abs is not None else []
        return ", ".join([*parts, f"PSNR>={self.min_psnr:g} dB"])


FP32_BUDGET = Budget(max_abs=1e-4, min_psnr=60.0)
FP16_BUDGET = Budget(max_abs=None, min_psnr=45.0)
PARITY_SEEDS = (0, 1)


class ParityError(RuntimeError):
    """An artifact's output is outside its parity budget."""


@dataclass
class ParityResult:
    backend: str
    runtime: str
    max_abs: float | None
    psnr: float | None
    budget: Budget
    passed: bool | None  # None when skipped
    skipped: str = ""  # why the numeric check did not run
    inputs: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["budget"] = asdict(self.budget)
        if d["psnr"] is not None and math.isinf(d["psnr"]):
            d["psnr"] = "inf"
        return d


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """PSNR in dB of a against b (inf when identical)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak**2 / mse)


# --- synthetic DP pairs ----------------------------------------------------------------------
def _texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((3, h, w))
    for c in range(3):
        for _ in range(3):  # oriented gratings of random frequency and phase
            theta, freq, phase = rng.uniform(0, np.pi), rng.uniform(0.04, 0.3), rng.uniform(0, 2 * np.pi)
            img[c] += 0.12 * np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase)
        for _ in range(4):  # smooth colour blobs
            cy, cx, s = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(4, 16)
            img[c] += rng.uniform(-0.25, 0.25) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    checker = ((yy // 8 + xx // 8) % 2) * 0.15
    edges = (xx > w * rng.uniform(0.3, 0.7)).astype(np.float64) * 0.1
    img += (checker + edges)[None] * rng.uniform(0.5, 1.0, size=(3, 1, 1))
    img -= img.min()
    return 0.05 + 0.9 * img / img.max()


def _half_disc(radius: int, side: int) -> np.ndarray:
    """A disc PSF of `radius` px keeping the left (side=-1) or right (side=+1) half and the centre column."""
    r = np.arange(-radius, radius + 1)
    yy, xx = np.meshgrid(r, r, indexing="ij")
    k = ((yy**2 + xx**2) <= radius**2 + 0.5).astype(np.float64)
    k *= (xx * side >= 0)
    return k / k.sum()


def _blur(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Per-channel 2-D correlation with reflect padding; x: C x H x W."""
    p = kernel.shape[-1] // 2
    t = F.pad(torch.from_numpy(x)[None], (p, p, p, p), mode="reflect")
    k = torch.from_numpy(kernel)[None, None].expand(x.shape[0], 1, -1, -1)
    return F.conv2d(t, k, groups=x.shape[0])[0].numpy()


def synthetic_dp_pair(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic DP pair (left, right), each 1 x 3 x H x W float32 in [0, 1] (fresh copies)."""
    left, right = _cached_pair(height, width, seed)
    return left.copy(), right.copy()


@functools.lru_cache(maxsize=8)
def _cached_pair(height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    img = _texture(height, width, rng)
    yy, xx = np.mgrid[0:height, 0:width]
    # Layers: background blurred with radius 3 (disparity of one sign), a foreground disc with radius 2
    # on the mirrored halves (the other sign), and a horizontal in-focus band (identical in both views).
    fg = (((yy - height * 0.55) ** 2 + (xx - width * 0.6) ** 2) < (min(height, width) * 0.25) ** 2).astype(float)
    band = (np.abs(yy - height * 0.2) < height * 0.08).astype(float) * (1 - fg)
    views = []
    for side in (-1, 1):
        background = _blur(img, _half_disc(3, side))
        foreground = _blur(img, _half_disc(2, -side))
        mask = _blur(fg[None], _half_disc(2, -side))[0]
        view = background * (1 - mask) + foreground * mask
        view = view * (1 - band) + img * band
        view += rng.normal(0.0, 0.004, size=view.shape)
        views.append(np.clip(view, 0.0, 1.0).astype(np.float32)[None].copy())
    return views[0], views[1]


def parity_pairs(height: int, width: int, seeds: Sequence[int] = PARITY_SEEDS) -> list[tuple[np.ndarray, np.ndarray]]:
    return [synthetic_dp_pair(height, width, s) for s in seeds]


# --- the check -------------------------------------------------------------------------------
def check_parity(
    runner: Runner,
    reference: Runner,
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    budget: Budget,
    backend: str,
    inputs: str = "",
) -> ParityResult:
    """Run `runner` and `reference` on every pair; the worst max |diff| and PSNR against `budget`."""
    worst_abs, worst_psnr = 0.0, math.inf
    for left, right in pairs:
        got, want = runner(left, right), reference(left, right)
        if got.shape != want.shape:
            raise ParityError(f"{backend}: output shape {got.shape} != reference {want.shape}")
        if not np.isfinite(got).all():
            worst_abs, worst_psnr = math.inf, -math.inf
            break
        worst_abs = max(worst_abs, float(np.max(np.abs(got - want))))
        worst_psnr = min(worst_psnr, psnr(got, want))
    passed = worst_psnr >= budget.min_psnr and (budget.max_abs is None or worst_abs <= budget.max_abs)
    return ParityResult(backend, runner.name, worst_abs, worst_psnr, budget, passed, inputs=inputs)


def format_table(rows: Sequence[dict]) -> str:
    """A plain-text parity table from dicts with keys backend, artifact, size_mb, seconds, parity, status."""
    wide = max([11, *(len(r["backend"]) for r in rows)])  # 'executorch-vulkan fp16' is longer than most names
    head = (f"{'backend':<{wide}} {'artifact':<36} {'MB':>6} {'s':>5}  {'max|diff|':>9} {'PSNR dB':>8}  "
            f"{'budget':<28} result")
    lines = [head, "-" * len(head)]
    for r in rows:
        p: ParityResult | None = r.get("parity")
        max_abs = f"{p.max_abs:.1e}" if p and p.max_abs is not None else "-"
        db = ("inf" if math.isinf(p.psnr) else f"{p.psnr:.1f}") if p and p.psnr is not None else "-"
        size = f"{r['size_mb']:.1f}" if r.get("size_mb") is not None else "-"
        secs = f"{r['seconds']:.0f}" if r.get("seconds") is not None else "-"
        budget = p.budget.describe() if p else "-"
        lines.append(f"{r['backend']:<{wide}} {r.get('artifact') or '-':<36} {size:>6} {secs:>5}  {max_abs:>9} "
                     f"{db:>8}  {budget:<28} {r['status']}")
    return "\n".join(lines)
