"""`k3dn train --dpdd`: training on Canon DPDD pairs (a fake folder in the dataset's layout)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL
from test_data_dpdd import NAMES, make_dpdd

from k3dn.cli import main
from k3dn.data import DPDDDataset
from k3dn.io import write_image
from k3dn.network.weights_io import load_weights

SET = [arg for k, v in SMALL.items() for arg in ("--set", f"{k}={v!r}")]
QUICK = ["--steps", "3", "--batch", "2", "--patch", "32", "--workers", "0", "--diag-every", "0", *SET]


def test_train_on_dpdd_writes_weights_and_validates_on_its_val_split(tmp_path: Path) -> None:
    make_dpdd(tmp_path, split="train", size=(48, 64))
    make_dpdd(tmp_path, split="val", size=(128, 144))  # crops of the default --val-size 128
    out = tmp_path / "run"
    assert main(["train", "--dpdd", str(tmp_path), "--out", str(out), "--val-every", "3", *QUICK]) == 0
    assert not load_weights(out / "last.safetensors").training and (out / "best.safetensors").is_file()
    info = json.loads((out / "config.json").read_text())
    assert info["data"] == {"dpdd": str(tmp_path / "dd_dp_dataset_png"), "split": "train", "images": 2,
                            "patch": 32, "flip": True, "seed": 0}
    assert info["val"] == "DPDD val split: 2 crops of 128 px"
    assert any("val_psnr" in json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines())


def test_without_a_val_split_a_dpdd_run_validates_on_the_synthetic_set_and_resumes_on_dpdd(tmp_path: Path,
                                                                                           capsys) -> None:
    make_dpdd(tmp_path, split="train", size=(48, 64))
    out = tmp_path / "run"
    assert main(["train", "--dpdd", str(tmp_path), "--out", str(out), "--val-every", "3", *QUICK]) == 0
    assert json.loads((out / "config.json").read_text())["val"] == "synthetic eval set: 8 pairs of 128 px"
    assert main(["train", "--out", str(out), "--resume", *QUICK]) == 2
    assert "trained on {'dpdd'" in capsys.readouterr().err
    more = ["--steps", "4", *QUICK[2:]]
    assert main(["train", "--dpdd", str(tmp_path), "--out", str(out), "--resume", "--val-every", "0", *more]) == 0
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 4


def test_training_items_are_pure_functions_of_the_index(tmp_path: Path) -> None:
    make_dpdd(tmp_path, split="train", size=(48, 64))
    data = DPDDDataset(tmp_path, "train", patch=32, seed=3, length=10)
    again = DPDDDataset(tmp_path, "train", patch=32, seed=3, length=10)
    assert len(data) == 10 and all(data[i]["left"].equal(again[i]["left"]) for i in (0, 7, 9))
    for start in range(0, 10, 2):  # every pass over the 2 images reads each once, in a seeded order
        assert sorted(data.image_name(i) for i in range(start, start + 2)) == sorted(NAMES)
    with pytest.raises(IndexError):
        data[10]


def test_a_mirrored_crop_swaps_the_views_and_keeps_the_dp_sign(tmp_path: Path) -> None:
    """Right view = left view displaced by +2 px (x grows rightwards). A horizontal mirror alone would
    displace it by -2 px; mirroring and swapping the views keeps +2 px, the convention the model learns."""
    rng = np.random.default_rng(0)
    root = tmp_path / "dd_dp_dataset_png"
    for name in NAMES:
        left = rng.random((40, 64, 3)).astype(np.float32)
        arrays = {"l/source": left, "r/source": np.roll(left, 2, axis=1), "c/source": left, "c/target": left}
        for folder, image in arrays.items():
            view, kind = folder.split("/")
            (root / f"train_{view}" / kind).mkdir(parents=True, exist_ok=True)
            write_image(root / f"train_{view}" / kind / f"{name}.png", image, bits=16)
    plain = DPDDDataset(tmp_path, "train", patch=32, seed=0, length=40, flip=False, as_numpy=True)
    mirrored = 0
    for i in range(40):
        item = DPDDDataset(tmp_path, "train", patch=32, seed=0, length=40, as_numpy=True)[i]
        assert np.array_equal(item["right"][:, 2:], item["left"][:, :-2])  # right = left moved +2 px
        mirrored += not np.array_equal(item["sharp"], plain[i]["sharp"])
    assert 5 < mirrored < 35  # about half of the crops were mirrored


def test_dpdd_arguments_are_checked(tmp_path: Path, capsys) -> None:
    out = ["--out", str(tmp_path / "run"), *QUICK]
    make_dpdd(tmp_path, split="train", size=(48, 64))
    (tmp_path / "real").mkdir()
    for part in ("left", "right", "gt", "dpdnet"):
        (tmp_path / "real" / f"canon_01_{part}.png").touch()
    cases = {("--dpdd", str(tmp_path / "nowhere")): "does not exist",
             ("--dpdd", str(tmp_path / "real")): "real-dp validation set",
             ("--dpdd", str(tmp_path), "--dpdd-split", "val"): "val_l",
             ("--dpdd", str(tmp_path), "--patch", "64"): "patch 64 larger than image 48x64",
             ("--dpdd", str(tmp_path), "--data", str(tmp_path)): "--dpdd trains on real ones"}
    for args, message in cases.items():
        assert main(["train", *out, *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("k3dn train: error: ") and message in err, err
    assert not (tmp_path / "run" / "last.pt").exists()
