"""Paired comparison of two methods scored on the same evaluation pairs.

Two models evaluated on the same scenes share each scene's difficulty, so the honest question is not
whether their mean PSNRs differ but whether the per-pair differences are consistently on one side of
zero. `paired_difference` answers it with the mean difference, a percentile bootstrap confidence
interval over pairs (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13) and the
number of pairs on which the first method scores higher. An interval that contains 0 means the set is
too small to tell the two methods apart.

The interval covers the choice of evaluation pairs only, not the training run: two trainings of the
same recipe with different seeds can differ with an interval that excludes 0
(docs/experiments/2026-11-29-reblur-weight-and-seed-spread.md measures +0.13 dB [+0.07, +0.18] between two
U-Net seeds). To claim one recipe beats another, compare several
runs of each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class PairedDifference:
    """a − b over n pairs: mean, [low, high] bootstrap interval at `confidence`, pairs where a > b."""

    mean: float
    low: float
    high: float
    wins: int
    n: int
    confidence: float

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self, unit: str = "dB") -> str:
        """e.g. '+0.21 dB [+0.08, +0.35], higher on 17/24 pairs'."""
        if math.isnan(self.low):
            interval = "[no interval: fewer than 2 pairs]"
        else:
            interval = f"[{self.low:+.2f}, {self.high:+.2f}]"
        return f"{self.mean:+.2f} {unit} {interval}, higher on {self.wins}/{self.n} pairs"


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95,
                      n_boot: int = 10000, seed: int = 0) -> PairedDifference:
    """Mean of a_i − b_i with a percentile bootstrap interval (pairs resampled with replacement,
    `n_boot` times, fixed `seed` so a report is reproducible). Pairs where either value is not finite
    (e.g. PSNR of an exact match) are dropped."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    d = x[keep] - y[keep]
    if d.size == 0:
        raise ValueError("no pair has finite values on both sides")
    wins = int(np.sum(d > 0))
    if d.size < 2:
        return PairedDifference(float(d.mean()), math.nan, math.nan, wins, int(d.size), confidence)
    idx = np.random.default_rng(seed).integers(0, d.size, size=(n_boot, d.size))
    boot = d[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return PairedDifference(float(d.mean()), float(low), float(high), wins, int(d.size), confidence)
