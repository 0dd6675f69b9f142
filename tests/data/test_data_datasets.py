"""Training dataset and fixed evaluation set of simulated DP pairs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from k3dn.data import TrainDataset, make_eval_set
from k3dn.data.simulate import IN_FOCUS_RADIUS


@pytest.fixture(scope="module")
def dataset() -> TrainDataset:
    return TrainDataset(patch=64, seed=3)


def test_item_layout(dataset: TrainDataset) -> None:
    item = dataset[0]
    assert set(item) == {"left", "right", "sharp", "blurry", "in_focus", "radius"}
    for key in ("left", "right", "sharp", "blurry"):
        assert item[key].shape == (3, 64, 64) and item[key].dtype == torch.float32
        assert 0 <= item[key].min() and item[key].max() <= 1
    assert item["in_focus"].shape == (1, 64, 64) and set(item["in_focus"].unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(item["blurry"], (item["left"] + item["right"]) / 2)
    assert torch.equal(item["in_focus"] > 0, item["radius"].abs() < IN_FOCUS_RADIUS)


def test_items_are_pure_functions_of_seed_and_index(dataset: TrainDataset) -> None:
    a, b = dataset[5], TrainDataset(patch=64, seed=3)[5]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["sharp"], dataset[6]["sharp"])
    assert not torch.equal(a["sharp"], TrainDataset(patch=64, seed=4)[5]["sharp"])
    with pytest.raises(IndexError):
        TrainDataset(patch=64, length=10)[10]


def test_dataloader_with_workers_is_reproducible(dataset: TrainDataset) -> None:
    loader = DataLoader(dataset, batch_size=2, sampler=range(6), num_workers=2, timeout=120)
    batches = list(loader)
    assert batches[0]["left"].shape == (2, 3, 64, 64)
    for b, batch in enumerate(batches):
        for j in range(2):
            ref = dataset[2 * b + j]
            assert all(torch.equal(batch[k][j], ref[k]) for k in ref)


def test_training_distribution_is_varied() -> None:
    ds = TrainDataset(patch=48, seed=0)
    metas, max_radius, signs, in_focus = [], [], set(), []
    for i in range(48):
        s = ds.sample(i)
        metas.append(s["meta"])
        max_radius.append(np.abs(s["radius"]).max())
        signs |= {int(np.sign(v)) for v in np.unique(np.sign(s["radius"]))}
        in_focus.append(s["in_focus"].mean())
    assert {m["family"] for m in metas} == {"butterworth", "disc"}
    assert {m["source"] for m in metas} == {"deadleaves", "photos"}
    assert {-1, 1} <= signs, "both sides of the focal plane"
    assert max(max_radius) > 9 and min(max_radius) < 3
    noise = [m["sensor"]["shot"] + m["sensor"]["read"] for m in metas]
    assert min(noise) == 0 and max(noise) > 5e-3, "from noiseless to phone-like"
    gains = [abs(m["sensor"]["lr_log_gain"]) for m in metas]
    assert max(gains) > 0.08
    assert len({m["psf_params"]["order"] for m in metas if m["psf_params"]}) >= 2
    assert 0.1 < float(np.mean(in_focus)) < 0.9
    assert {m["linear"] for m in metas} == {True, False}, "blur in linear light and on sRGB values"


def test_eval_set_is_byte_identical_and_covers_both_families() -> None:
    a = make_eval_set(n=4, size=(64, 96), seed=7)
    b = make_eval_set(n=4, size=(64, 96), seed=7)
    c = make_eval_set(n=4, size=(64, 96), seed=8)
    assert len(a) == 4
    for x, y in zip(a, b, strict=True):
        for key in ("left", "right", "sharp", "blurry", "in_focus", "radius"):
            assert x[key].tobytes() == y[key].tobytes()
    assert a[0]["left"].tobytes() != c[0]["left"].tobytes()
    item = a[0]
    assert item["left"].shape == (64, 96, 3) and item["left"].dtype == np.float32
    assert item["in_focus"].shape == (64, 96) and item["in_focus"].dtype == bool
    assert {x["name"].split("_")[-1] for x in a} == {"butterworth", "disc"}
    assert {x["name"].split("_")[2] for x in a} == {"deadleaves", "photos"}
    train = TrainDataset(patch=64, seed=7)
    assert not any(np.array_equal(x["sharp"][:, :64], train.sample(i)["sharp"]) for i, x in enumerate(a))


def test_srgb_eval_set_renders_the_same_scenes_differently() -> None:
    linear = make_eval_set(n=2, size=(48, 48), seed=5)
    srgb = make_eval_set(n=2, size=(48, 48), seed=5, linear=False)
    for a, b in zip(linear, srgb, strict=True):
        assert a["name"] == b["name"]
        if not np.array_equal(a["sharp"], b["sharp"]):  # the DP mirror is drawn after the noise
            b = {k: v[:, ::-1] for k, v in b.items() if k != "name"}
        np.testing.assert_array_equal(a["sharp"], b["sharp"])
        np.testing.assert_array_equal(a["radius"], b["radius"])
        if np.abs(a["radius"]).max() > 1:  # blurred content: linear-light blur brightens dark detail
            assert np.abs(a["blurry"] - b["blurry"]).max() > 1e-3


def test_user_folder_is_a_third_source(tmp_path) -> None:
    from k3dn.io import write_image

    rng = np.random.default_rng(0)
    write_image(tmp_path / "mine.png", rng.random((120, 140, 3)).astype(np.float32), bits=16)
    ds = TrainDataset(patch=48, seed=0, user_dir=tmp_path)
    assert ds.sources == ("deadleaves", "photos", "user")
    sources = {ds.sample(i)["meta"]["source"] for i in range(12)}
    assert "user" in sources
    with pytest.raises(FileNotFoundError):
        TrainDataset(user_dir=tmp_path / "missing")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sources"):
        TrainDataset(sources=("imagenet",))
    with pytest.raises(ValueError):
        make_eval_set(n=0)


def test_mild_slice_has_small_blur_and_soft_scenes() -> None:
    from k3dn.data.datasets import MILD_RADIUS

    items = make_eval_set(n=4, size=(64, 64), mild=True)
    assert all("mild" in it["name"] for it in items)
    assert max(float(np.abs(it["radius"]).max()) for it in items) <= MILD_RADIUS + 1e-6
    plain = make_eval_set(n=4, size=(64, 64))
    assert not np.array_equal(items[1]["sharp"], plain[1]["sharp"])


def test_soften_blurs_the_ground_truth_itself() -> None:
    from k3dn.data.generate import random_sample

    def edges(img: np.ndarray) -> float:
        return float(np.abs(np.diff(img, axis=1)).mean())

    crisp = random_sample((64, 64), np.random.default_rng(5), source="deadleaves", target_radius=0.5)
    soft = random_sample((64, 64), np.random.default_rng(5), source="deadleaves", target_radius=0.5, soften=1.5)
    assert edges(soft["sharp"]) < 0.8 * edges(crisp["sharp"])
