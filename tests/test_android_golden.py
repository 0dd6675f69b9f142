"""The Android demo's golden vectors must be what `android_demo/make_golden.py` writes from `k3dn.camera` today.

The Java core (android_demo/core) is tested against the checked-in vectors; this test regenerates them into
a temp dir and fails if any file differs, is missing or is extra, so Java and Python cannot drift apart.
Fix a failure with `python android_demo/make_golden.py`, then rerun `android_demo/run-tests.sh`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "android_demo" / "make_golden.py"
CHECKED_IN = ROOT / "android_demo" / "core" / "src" / "test" / "resources" / "golden"


@pytest.fixture(scope="module")
def make_golden():
    spec = importlib.util.spec_from_file_location("k3dn_android_make_golden", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_golden_vectors_are_current(make_golden, tmp_path: Path) -> None:
    fresh = {p.name: p.read_bytes() for p in make_golden.write(tmp_path)}
    have = {p.name: p.read_bytes() for p in CHECKED_IN.iterdir() if p.is_file()}
    hint = "; regenerate with `python android_demo/make_golden.py`"
    assert sorted(set(fresh) - set(have)) == [], f"golden files missing from the checkout{hint}"
    assert sorted(set(have) - set(fresh)) == [], f"stale extra golden files{hint}"
    stale = sorted(name for name in fresh if fresh[name] != have[name])
    assert stale == [], f"golden vectors differ from what k3dn.camera gives now{hint}"


def test_fake_runner_changes_per_tile(make_golden) -> None:
    """The golden reconstructions are only sensitive to blending and tile order if tiles get different outputs."""
    import numpy as np

    runner = make_golden.FakeTileRunner(32)
    x = np.zeros((1, 3, 32, 32), dtype=np.float32)
    assert runner(x, x)[0, 0, 0, 0] != runner(x, x)[0, 0, 0, 0]
