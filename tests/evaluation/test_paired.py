"""Paired bootstrap comparison of two methods on the same pairs (k3dn/evaluation/paired.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from k3dn.evaluation.paired import paired_difference


def test_a_constant_difference_has_a_zero_width_interval() -> None:
    a = [30.0, 25.0, 28.5, 31.0]
    d = paired_difference(a, [v - 0.3 for v in a])
    assert d.mean == pytest.approx(0.3) and d.low == pytest.approx(0.3) and d.high == pytest.approx(0.3)
    assert (d.wins, d.n) == (4, 4)


def test_two_pairs_give_the_exact_bootstrap_interval() -> None:
    # Differences (0, 1): resampled means are 0, 0.5, 1 with probability 1/4, 1/2, 1/4, so the
    # 2.5 % and 97.5 % percentiles are 0 and 1.
    d = paired_difference([10.0, 11.0], [10.0, 10.0])
    assert (d.mean, d.low, d.high, d.wins) == (0.5, 0.0, 1.0, 1)


def test_scene_difficulty_cancels_but_a_coin_flip_stays_undecided() -> None:
    rng = np.random.default_rng(3)
    scenes = rng.uniform(22, 34, size=24)  # per-scene difficulty spreads over 12 dB
    better = paired_difference(scenes + 0.2 + rng.normal(0, 0.05, 24), scenes)
    assert better.low > 0.1 and better.high < 0.3 and better.wins == 24
    flip = paired_difference(scenes + np.tile([0.3, -0.3], 12), scenes)
    assert flip.low < 0 < flip.high and flip.wins == 12


def test_seeded_and_reproducible() -> None:
    a, b = [1.0, 2.0, 4.0, 3.0, 0.5], [1.5, 1.0, 3.0, 3.5, 0.0]
    assert paired_difference(a, b) == paired_difference(a, b)


def test_non_finite_pairs_are_dropped_and_one_pair_has_no_interval() -> None:
    d = paired_difference([math.inf, 30.0], [29.0, 29.5])
    assert d.n == 1 and d.mean == pytest.approx(0.5) and math.isnan(d.low)
    assert "no interval" in d.describe()


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="confidence"):
        paired_difference([1.0, 2.0], [1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="finite"):
        paired_difference([math.nan], [1.0])
