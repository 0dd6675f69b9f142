"""DPDD reader on a tiny folder built in the Canon dataset's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from k3dn.data import DPDDDataset
from k3dn.io import write_image

NAMES = ("1P0A2417", "1P0A2420")


def make_dpdd(root: Path, split: str = "test", names=NAMES, size=(48, 72)) -> dict:
    """Write dd_dp_dataset_png/{split}_{c,l,r}/... with 16-bit PNGs; return the arrays written."""
    rng = np.random.default_rng(0)
    written = {}
    for name in names:
        arrays = {key: (rng.integers(0, 65536, (*size, 3)) / 65535).astype(np.float32)
                  for key in ("left", "right", "sharp")}
        arrays["blurry"] = (np.round((arrays["left"] + arrays["right"]) / 2 * 65535) / 65535).astype(np.float32)
        for key, (view, kind) in {"blurry": ("c", "source"), "left": ("l", "source"), "right": ("r", "source"),
                                  "sharp": ("c", "target")}.items():
            folder = root / "dd_dp_dataset_png" / f"{split}_{view}" / kind
            folder.mkdir(parents=True, exist_ok=True)
            write_image(folder / f"{name}.png", arrays[key], bits=16)
        written[name] = arrays
    return written


def test_reads_the_canon_layout_losslessly(tmp_path: Path) -> None:
    written = make_dpdd(tmp_path)
    for root in (tmp_path, tmp_path / "dd_dp_dataset_png"):
        ds = DPDDDataset(root, split="test", as_numpy=True)
        assert len(ds) == 2 and ds.names == sorted(NAMES)
        item = ds[0]
        assert item["name"] == "1P0A2417" and "in_focus" not in item
        for key in ("left", "right", "sharp", "blurry"):
            assert np.array_equal(item[key], written["1P0A2417"][key])
    tensors = DPDDDataset(tmp_path)[1]
    assert tensors["left"].shape == (3, 48, 72) and tensors["left"].dtype == torch.float32
    assert torch.equal(tensors["right"], torch.from_numpy(written["1P0A2420"]["right"]).permute(2, 0, 1))


def test_reads_upper_case_png_suffixes(tmp_path: Path) -> None:
    # cameras and some archive tools write NAME.PNG: the reader lists them and must open them by that name
    written = make_dpdd(tmp_path)
    for png in (tmp_path / "dd_dp_dataset_png").glob("test_*/*/*.png"):
        png.rename(png.with_suffix(".PNG"))
    item = DPDDDataset(tmp_path, split="test", as_numpy=True)[1]
    assert item["name"] == "1P0A2420"
    assert np.array_equal(item["sharp"], written["1P0A2420"]["sharp"])


def test_random_crops_are_seeded_and_swap_views_when_mirrored(tmp_path: Path) -> None:
    written = make_dpdd(tmp_path, split="train")
    ds = DPDDDataset(tmp_path, split="train", patch=32, seed=1, as_numpy=True)
    crops = [ds[i % 2] for i in range(2)]
    again = DPDDDataset(tmp_path, split="train", patch=32, seed=1, as_numpy=True)
    for a, b in zip(crops, (again[0], again[1]), strict=True):
        assert a["left"].shape == (32, 32, 3) and np.array_equal(a["left"], b["left"])
    # Every crop is a window of the original, possibly mirrored with left and right swapped.
    for item in crops:
        full = written[item["name"]]
        found = False
        for left_key, mirror in (("left", False), ("right", True)):
            src = full[left_key][:, ::-1] if mirror else full[left_key]
            for y in range(48 - 32 + 1):
                for x in range(72 - 32 + 1):
                    if np.array_equal(src[y:y + 32, x:x + 32], item["left"]):
                        found = True
        assert found


def test_layout_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="test_l"):
        DPDDDataset(tmp_path)
    make_dpdd(tmp_path)
    with pytest.raises(ValueError, match="split"):
        DPDDDataset(tmp_path, split="validation")
    extra = tmp_path / "dd_dp_dataset_png" / "test_r" / "source" / "1P0A9999.png"
    write_image(extra, np.zeros((48, 72, 3), np.float32), bits=16)
    with pytest.raises(ValueError, match="1P0A9999"):
        DPDDDataset(tmp_path)
