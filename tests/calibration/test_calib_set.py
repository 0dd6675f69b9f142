"""The calibration set: deterministic, small on disk, the same inputs for every backend at any artifact size,
user folders (`k3dn synth` output) mixed in."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from k3dn.calibration.calib_set import build_calib_set, load_calib_set
from k3dn.cli import main

SIZE = (32, 32)


@pytest.fixture(scope="module")
def calib():
    return build_calib_set(n=6, size=SIZE, seed=0, progress=False)


def test_fixed_seed_gives_identical_data_and_hash(calib) -> None:
    again = build_calib_set(n=6, size=SIZE, seed=0, progress=False)
    other = build_calib_set(n=6, size=SIZE, seed=1, progress=False)
    assert calib.sha256 == again.sha256 and np.array_equal(calib.left, again.left)
    assert other.sha256 != calib.sha256
    assert calib.left.shape == (6, *SIZE, 3) and calib.left.dtype == np.uint8
    assert not np.array_equal(calib.left, calib.right)  # real DP pairs: the views differ
    names = calib.meta["names"]
    assert len({n.split("/")[0] for n in names}) >= 2 and len({n.split("/")[1] for n in names}) == 2  # scenes, PSFs


def test_npz_round_trip_is_small_and_keeps_the_hash(calib, tmp_path) -> None:
    path = calib.save(tmp_path / "calib.npz")
    back = load_calib_set(path)
    assert back.sha256 == calib.sha256 and back.meta["seed"] == 0
    assert path.stat().st_size < 2 * calib.left.nbytes  # compressed uint8, both views
    assert [p.name for p in tmp_path.iterdir()] == ["calib.npz"]  # atomic: no temporary left behind
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="not a k3dn calibration set"):
        load_calib_set(tmp_path / "bad.npz")


@pytest.mark.parametrize("size, count", [((64, 64), 2), ((64, 48), 2), ((16, 16), 6), ((32, 32), 6)])
def test_inputs_at_any_artifact_size(calib, size, count) -> None:
    inputs = calib.inputs(size)
    assert len(inputs) == count  # mosaics of 2x2 pairs above the pair size, one crop per pair below
    for left, right in inputs:
        assert left.shape == right.shape == (1, 3, *size) and left.dtype == np.float32
        assert 0.0 <= left.min() and left.max() <= 1.0
    if size == SIZE:
        assert np.array_equal(inputs[0][0][0].transpose(1, 2, 0), calib.left[0] / np.float32(255))


def test_user_folder_from_k3dn_synth(tmp_path) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["synth", "--out", str(tmp_path / "synth"), "--n", "2", "--size", "48x48", "--seed", "3"]) == 0
    calib = build_calib_set(n=4, size=SIZE, folders=[tmp_path / "synth"], progress=False)
    assert calib.meta["user"] == 2 and calib.meta["simulated"] == 2
    assert sum(n.startswith("user:") for n in calib.meta["names"]) == 2
    with pytest.raises(ValueError, match="neither"):
        build_calib_set(n=2, size=SIZE, folders=[tmp_path], progress=False)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one pair"):
        build_calib_set(n=0, size=SIZE)
    with pytest.raises(ValueError, match="16x16"):
        build_calib_set(n=1, size=(8, 8))
