"""Scene sources: dead leaves, bundled photographs (+ real stereo depth), synthetic depth, user folders."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from k3dn.data.deadleaves import dead_leaves, sample_radii
from k3dn.data.depth import KINDS, disparity_to_depth, synthetic_depth
from k3dn.data.photos import BUNDLED, ImageFolder, bundled_scene, load_bundled
from k3dn.io import write_image


def test_leaf_radii_follow_the_scale_invariant_law() -> None:
    r = sample_radii(np.random.default_rng(0), 200_000, 2.0, 1e6)
    # pdf ~ r^-3  =>  P(r > t) = (r_min / t)^2
    for t in (4.0, 8.0, 20.0):
        assert (r > t).mean() == pytest.approx((2.0 / t) ** 2, rel=0.05)
    assert r.min() >= 2.0


def test_dead_leaves_are_deterministic_with_per_leaf_depth() -> None:
    a, da = dead_leaves((96, 128), np.random.default_rng(3))
    b, db = dead_leaves((96, 128), np.random.default_rng(3))
    c, _ = dead_leaves((96, 128), np.random.default_rng(4))
    assert np.array_equal(a, b) and np.array_equal(da, db) and not np.array_equal(a, c)
    assert a.shape == (96, 128, 3) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert da.shape == (96, 128) and (da >= 0.5).all() and (da <= 20.0).all()
    assert 3 <= len(np.unique(da)) <= 21, "leaves stand on a handful of depth planes (+ background)"
    # Occlusions are real: depth jumps between neighbouring pixels where a leaf edge is.
    assert (np.abs(np.diff(np.log(da), axis=1)) > 0.05).mean() > 0.01
    # Anti-aliased edges: many pixel values are blends, not just the leaves' own colours.
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 2000


def test_bundled_photos_ship_with_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("bundled scenes must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    for name in BUNDLED:
        image, disparity = load_bundled(name)
        assert image.dtype == np.float32 and min(image.shape[:2]) >= 300
        assert (disparity is not None) == (name == "motorcycle")
    rng = np.random.default_rng(0)
    for _ in range(6):
        image, depth = bundled_scene((160, 160), rng)
        assert image.shape == (160, 160, 3) and depth.shape == (160, 160)
        assert np.isfinite(depth).all() and depth.min() > 0.1


def test_stereo_disparity_becomes_depth() -> None:
    _, disparity = load_bundled("motorcycle")
    depth = disparity_to_depth(disparity, np.random.default_rng(0))
    valid = np.isfinite(disparity) & (disparity > 0)
    assert np.isfinite(depth).all() and 0.5 <= depth.min() <= 2.0
    product = depth[valid] * disparity[valid]  # z ~ 1/d
    assert product.std() / product.mean() < 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_synthetic_depth_kinds(kind: str) -> None:
    rng = np.random.default_rng(1)
    image = rng.random((80, 120, 3)).astype(np.float32)
    depth = synthetic_depth((80, 120), rng, kind, image=image)
    assert depth.shape == (80, 120) and depth.dtype == np.float32 and np.isfinite(depth).all()
    assert depth.min() > 0.3 and depth.max() < 31
    jumps = np.abs(np.diff(np.log(depth), axis=1)).max()
    if kind == "plane":
        assert depth.min() == depth.max()
    elif kind == "layered":
        assert jumps > 0.05, "occluders put depth discontinuities in the scene"
    else:
        assert depth.max() > depth.min() and jumps < 0.25, "smooth surfaces"


def test_user_folder_with_and_without_depth(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    write_image(tmp_path / "a.png", rng.random((90, 100, 3)).astype(np.float32), bits=16)
    np.save(tmp_path / "a_depth.npy", np.linspace(1, 5, 90 * 100, dtype=np.float32).reshape(90, 100) * 1000)
    write_image(tmp_path / "b.png", rng.random((70, 80, 3)).astype(np.float32))
    folder = ImageFolder(tmp_path)
    assert len(folder) == 2 and folder.depth_path(folder.files[0]) is not None
    image, depth = folder.load(0)
    assert depth is not None and depth.min() == pytest.approx(1.0) and depth.max() == pytest.approx(5.0, rel=1e-4)
    assert folder.load(1)[1] is None
    for _ in range(4):
        scene, scene_depth = folder.scene((64, 64), rng)
        assert scene.shape == (64, 64, 3) and scene_depth.shape == (64, 64) and scene_depth.min() > 0
    np.save(tmp_path / "b_depth.npy", np.ones((5, 5), np.float32))
    with pytest.raises(ValueError, match="does not match"):
        ImageFolder(tmp_path).load(1)


def test_user_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ImageFolder(tmp_path / "nope")
    with pytest.raises(ValueError, match="no PNG"):
        ImageFolder(tmp_path)
