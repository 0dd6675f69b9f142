"""Green-only DP readout (k3dn/data/readout.py): the form public phone DP captures come in."""

import numpy as np
import pytest

from k3dn.data.readout import green_only, green_plane


def test_green_plane_replicates_green_and_rejects_other_shapes():
    img = np.random.default_rng(0).random((8, 9, 3)).astype(np.float32)
    out = green_plane(img)
    assert out.shape == img.shape
    assert np.array_equal(out[..., 0], img[..., 1]) and np.array_equal(out[..., 2], img[..., 1])
    with pytest.raises(ValueError, match="H x W x 3"):
        green_plane(img[..., 0])


def test_green_only_converts_images_and_keeps_the_rest():
    rng = np.random.default_rng(1)
    item = {k: rng.random((4, 4, 3)).astype(np.float32) for k in ("left", "right", "sharp")}
    item |= {"radius": rng.random((4, 4)).astype(np.float32), "name": "x"}
    out = green_only(item)
    for k in ("left", "right", "sharp"):
        assert np.array_equal(out[k][..., 0], item[k][..., 1]) and np.array_equal(out[k][..., 2], item[k][..., 1])
    assert out["radius"] is item["radius"] and out["name"] == "x"
    assert not np.array_equal(item["left"][..., 0], item["left"][..., 1])  # the input item is untouched


def test_green_prob_converts_its_share_and_leaves_other_items_alone(tmp_path, capsys):
    from k3dn.cli import main
    from k3dn.data import TrainDataset

    plain, green = TrainDataset(patch=32, seed=3), TrainDataset(patch=32, seed=3, green_prob=0.5)
    converted = 0
    for i in range(10):
        a, b = plain.sample(i), green.sample(i)
        if b["meta"].get("readout") == "green":
            converted += 1
            assert np.array_equal(b["left"][..., 0], b["left"][..., 1])
            assert np.array_equal(b["sharp"], green_plane(a["sharp"]))
        else:
            assert np.array_equal(a["left"], b["left"]) and np.array_equal(a["sharp"], b["sharp"])
    assert 0 < converted < 10
    assert main(["train", "--out", str(tmp_path / "run"), "--green-prob", "2"]) == 2
    assert "--green-prob must be in [0, 1]" in capsys.readouterr().err
