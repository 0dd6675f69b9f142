"""Reader of the Canon dual-pixel defocus deblurring dataset (DPDD; Abuolaim & Brown, ECCV 2020).

Layout (`dd_dp_dataset_png/`, 16-bit PNG, 1680 x 1120):

    {split}_c/source/NAME.png   combined (left + right) defocused image
    {split}_l/source/NAME.png   left DP view
    {split}_r/source/NAME.png   right DP view
    {split}_c/target/NAME.png   all-in-focus ground truth (narrow aperture)

with split in train / val / test and NAME (e.g. 1P0A2417.png) identical across the four folders;
pairs are matched by identical file stem. `root` may be `dd_dp_dataset_png` itself or its parent.
Items carry the same keys as the simulated datasets, except `in_focus`/`radius` (unknown).

As a training set (`k3dn train --dpdd ROOT`): `patch` crops and a `length` of steps x global batch,
item i a pure function of (seed, i) like TrainDataset's, so a resumed run reads the same crops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from ..io import read_image
from .datasets import to_tensors
from .simulate import dp_hflip

SPLITS = ("train", "val", "test")
_ORDER_STREAM = 0x0D9DD  # the image order of each pass over the split, apart from the items' crop streams
FOLDERS = {"blurry": ("c", "source"), "left": ("l", "source"), "right": ("r", "source"), "sharp": ("c", "target")}


def find_dpdd_root(root: str | Path) -> Path:
    root = Path(root)
    if (root / "dd_dp_dataset_png").is_dir():
        return root / "dd_dp_dataset_png"
    return root


class DPDDDataset(Dataset):
    """DPDD split as a torch Dataset.

    Args:
        root: `dd_dp_dataset_png` or its parent folder.
        split: "train", "val" or "test".
        patch: if given, items are random P x P crops (position and, with `flip`, a mirror drawn from
            (seed, index)); otherwise full images.
        seed: crop seed.
        as_numpy: return H x W x 3 numpy arrays instead of 3 x H x W tensors.
        length: None: one item per image, in name order. Else the number of items: item i reads image
            i mod n of a seeded order that changes with every pass over the n images (a training set of
            any length whose item i is a pure function of (seed, i)).
        flip: with `patch`, mirror half of the crops horizontally. A mirrored DP pair must also swap its
            views (data.dp_hflip): mirroring the world swaps which half of the pupil each photodiode sees,
            so flip(right) is the new left view. Flipping both views and swapping them keeps the DP sign
            convention (right view displaced to +x behind the focal plane); flipping without the swap
            would invert the sign of every disparity.
    """

    def __init__(self, root: str | Path, split: str = "test", patch: int | None = None, seed: int = 0,
                 as_numpy: bool = False, length: int | None = None, flip: bool = True) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown DPDD split {split!r}; choose one of {SPLITS}")
        if length is not None and length < 1:
            raise ValueError(f"length must be positive, got {length}")
        self.root = find_dpdd_root(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"DPDD folder {self.root} does not exist")
        self.split, self.patch, self.seed, self.as_numpy = split, patch, seed, as_numpy
        self.length, self.flip = length, flip
        self.dirs = {key: self.root / f"{split}_{view}" / kind for key, (view, kind) in FOLDERS.items()}
        missing = [str(d) for d in self.dirs.values() if not d.is_dir()]
        if missing:
            raise FileNotFoundError(f"not a DPDD folder ({self.root}): missing {', '.join(missing)}")
        # stem -> file name per folder: the suffix may be .png or .PNG, and the file is opened by its real name
        self.files = {key: {p.stem: p.name for p in d.iterdir() if p.suffix.lower() == ".png"}
                      for key, d in self.dirs.items()}
        stems = {key: set(files) for key, files in self.files.items()}
        common = set.intersection(*stems.values())
        extra = {key: sorted(s - common)[:3] for key, s in stems.items() if s - common}
        if extra:
            detail = "; ".join(f"{self.dirs[k]} has unmatched {v}" for k, v in extra.items())
            raise ValueError(f"DPDD {split} folders do not hold the same file names: {detail}")
        if not common:
            raise ValueError(f"DPDD {split} split in {self.root} holds no PNG")
        self.names = sorted(common)

    def __len__(self) -> int:
        return len(self.names) if self.length is None else self.length

    def describe(self) -> dict:
        """What the run trained on, for its config.json."""
        return {"dpdd": str(self.root), "split": self.split, "images": len(self.names), "patch": self.patch,
                "flip": self.flip, "seed": self.seed}

    def image_name(self, index: int) -> str:
        """The name of the image item `index` reads."""
        if self.length is None:
            return self.names[index]
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a dataset of length {self.length}")
        n = len(self.names)
        order = np.random.default_rng([self.seed, index // n, _ORDER_STREAM]).permutation(n)
        return self.names[order[index % n]]

    def __getitem__(self, index: int) -> dict:
        name = self.image_name(index)
        arrays: dict = {key: read_image(d / self.files[key][name])[0] for key, d in self.dirs.items()}
        h, w = arrays["left"].shape[:2]
        for key, arr in arrays.items():
            if arr.shape[:2] != (h, w):
                raise ValueError(f"{self.dirs[key] / self.files[key][name]}: size {arr.shape[:2]} differs from the "
                                 f"left view {h, w}")
        if self.patch is not None:
            rng = np.random.default_rng([self.seed, index])
            p = self.patch
            if p > min(h, w):
                raise ValueError(f"patch {p} larger than image {h}x{w}")
            y0, x0 = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
            arrays = {k: np.ascontiguousarray(v[y0:y0 + p, x0:x0 + p]) for k, v in arrays.items()}
            if self.flip and rng.random() < 0.5:
                arrays = dp_hflip(arrays)
        arrays["name"] = name
        if self.as_numpy:
            return arrays
        return to_tensors(arrays) | {"name": name}
