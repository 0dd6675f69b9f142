"""Torch datasets of simulated DP pairs, the fixed evaluation set, and `k3dn synth` output folders.

Item layout (TrainDataset, SynthFolder, DPDDDataset): float32 tensors `left`, `right`, `sharp`,
`blurry` (3 x H x W in [0, 1]; blurry = (left + right) / 2 of the noisy, quantized views), and for
simulated data `in_focus` (1 x H x W float, 1 where |c| < 0.5 px) and `radius` (1 x H x W signed blur
radius c in px). `make_eval_set` and the `as_numpy` readers give H x W x 3 / H x W numpy arrays.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..io import read_image
from .dp_family import CALIBRATED_FAMILIES
from .dp_psf import FAMILIES
from .generate import DEFAULT_MAX_RADIUS, random_sample
from .optics import Camera
from .photos import ImageFolder
from .simulate import IN_FOCUS_RADIUS

EVAL_SEED = 1234  # the project's fixed evaluation set; tools that record which set they used read it here
_EVAL_STREAM = 0xE7A1  # keeps evaluation samples disjoint from training samples of the same seed
_MILD_STREAM = 0x3111D  # TrainDataset's choice of mild-blur items, apart from the sample's own stream
_CALIB_STREAM = 0xCA1B  # TrainDataset's choice of calibrated-family items (same reason)
_DEGRADE_STREAM = 0xDE64  # TrainDataset's choice and draw of storage artifacts (same reason)
_GREEN_STREAM = 0x6EE1  # TrainDataset's choice of green-only readout items (same reason)
MILD_RADIUS = 1.5  # px: the largest blur radius of a "mild" pair (training mix and the eval slice)
MILD_SOFTEN = 1.5  # px: the largest Gaussian sigma of the soft (in-focus, no disparity) scenes of the mild slice
IMAGE_KEYS = ("left", "right", "sharp", "blurry")


def to_tensors(sample: dict) -> dict:
    """numpy H x W (x 3) arrays -> float32 C x H x W tensors (non-array entries are dropped)."""
    out = {}
    for key, value in sample.items():
        if not isinstance(value, np.ndarray) or key == "depth":
            continue
        arr = value.astype(np.float32)
        arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        out[key] = torch.from_numpy(np.ascontiguousarray(arr))
    return out


class TrainDataset(Dataset):
    """Random simulated DP patches, generated on the fly; item i is a pure function of (seed, i).

    Args:
        patch: patch size P (items are P x P).
        seed: dataset seed.
        length: nominal number of items (indices must be below it).
        sources: scene sources to draw from, among "deadleaves", "photos" (bundled with scikit-image).
        user_dir: optional folder of all-in-focus images (+ `<stem>_depth.npy`) added as a third source.
        max_radius: largest |c| in px.
        linear: blur in linear light (True), on sRGB values (False), or a mix (None, the default; see
            generate.LINEAR_PROB).
        mild_prob: fraction of items whose largest blur radius is uniform in [0, MILD_RADIUS] px:
            in-focus and phone-like small-blur pairs, where the model must leave the image alone
            (decided by a stream of its own, so items with mild_prob=0 are unchanged).
        soft_mild: also soften the scene of each mild item (Gaussian sigma uniform in [0, MILD_SOFTEN]):
            in-focus soft content whose target is itself soft (random_sample's `soften`).
        calibrated_prob: fraction of items rendered with a calibrated kernel family (fitted to real
            views by `k3dn calibrate-psf`, dp_psf.CALIBRATED_FAMILIES) instead of the two published
            ones; decided by a stream of its own, so with 0 (the default) every item is unchanged.
        calibrated_families: which calibrated families those items draw from (uniformly).
        degrade_prob: fraction of items whose two views go through 8-bit rounding, a 256-colour
            palette or JPEG (data/degrade.py), uniformly; the target stays clean. Own stream too.
        green_prob: fraction of items in the green-only form of phone DP readouts (data/readout.py): the
            green channel of views and target replicated to three channels. Own stream too.
    """

    def __init__(self, patch: int = 128, seed: int = 0, length: int = 10**6,
                 sources: tuple[str, ...] = ("deadleaves", "photos"), user_dir: str | Path | None = None,
                 max_radius: float = DEFAULT_MAX_RADIUS, linear: bool | None = None,
                 mild_prob: float = 0.0, soft_mild: bool = False, calibrated_prob: float = 0.0,
                 calibrated_families: tuple[str, ...] = CALIBRATED_FAMILIES, degrade_prob: float = 0.0,
                 green_prob: float = 0.0) -> None:
        if patch < 16:
            raise ValueError(f"patch must be >= 16, got {patch}")
        unknown = set(sources) - {"deadleaves", "photos"}
        if unknown:
            raise ValueError(f"unknown sources {sorted(unknown)}; use 'deadleaves', 'photos' and/or user_dir")
        self.patch, self.seed, self.length, self.max_radius = patch, seed, length, max_radius
        self.linear = linear
        if not 0.0 <= mild_prob <= 1.0:
            raise ValueError(f"mild_prob must be in [0, 1], got {mild_prob}")
        self.mild_prob = mild_prob
        for name, p in (("calibrated_prob", calibrated_prob), ("degrade_prob", degrade_prob),
                        ("green_prob", green_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        bad = set(calibrated_families) - set(CALIBRATED_FAMILIES)
        if bad or not calibrated_families:
            raise ValueError(f"calibrated_families {sorted(bad)}: choose from {CALIBRATED_FAMILIES}")
        self.calibrated_prob, self.calibrated_families = calibrated_prob, tuple(calibrated_families)
        self.degrade_prob, self.green_prob = degrade_prob, green_prob
        self.soft_mild = soft_mild
        self.folder = ImageFolder(user_dir) if user_dir is not None else None
        self.sources = tuple(sources) + (("user",) if self.folder is not None else ())
        if not self.sources:
            raise ValueError("no scene source selected")

    def __len__(self) -> int:
        return self.length

    def sample(self, index: int) -> dict:
        """The numpy sample behind item `index` (with depth and metadata)."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a dataset of length {self.length}")
        rng = np.random.default_rng([self.seed, index])
        target, soften = None, 0.0
        if self.mild_prob > 0:
            mild = np.random.default_rng([self.seed, index, _MILD_STREAM]).random(3)
            if mild[0] < self.mild_prob:
                target = float(min(MILD_RADIUS, self.max_radius) * mild[1])
                soften = float(MILD_SOFTEN * mild[2]) if self.soft_mild else 0.0
        family = None
        if self.calibrated_prob > 0:
            draw = np.random.default_rng([self.seed, index, _CALIB_STREAM]).random(2)
            if draw[0] < self.calibrated_prob:
                family = self.calibrated_families[int(draw[1] * len(self.calibrated_families))]
        sample = random_sample((self.patch, self.patch), rng, self.sources, self.folder, self.max_radius,
                               linear=self.linear, target_radius=target, soften=soften, family=family)
        if self.green_prob > 0 and np.random.default_rng([self.seed, index, _GREEN_STREAM]).random() < self.green_prob:
            from .readout import green_only

            sample = green_only(sample)
            sample["meta"] = sample["meta"] | {"readout": "green"}
        if self.degrade_prob > 0:
            drng = np.random.default_rng([self.seed, index, _DEGRADE_STREAM])
            if drng.random() < self.degrade_prob:
                from .degrade import degrade_views

                sample["left"], sample["right"], kind = degrade_views(sample["left"], sample["right"], drng)
                sample["blurry"] = (sample["left"] + sample["right"]) / 2
                sample["meta"] = sample["meta"] | {"degrade": kind}
        return sample

    def __getitem__(self, index: int) -> dict:
        return to_tensors(self.sample(index))


def make_eval_set(n: int = 24, size: tuple[int, int] = (256, 256), seed: int = EVAL_SEED,
                  sources: tuple[str, ...] = ("deadleaves", "photos"),
                  max_radius: float = DEFAULT_MAX_RADIUS, linear: bool = True, mild: bool = False) -> list[dict]:
    """A fixed evaluation set: same arguments -> byte-identical arrays.

    `mild=True` is the mild-blur slice: the same scenes with the largest blur radius spread over
    (0, MILD_RADIUS] px (in focus to phone-like small defocus), and every other scene softened itself
    (Gaussian sigma up to MILD_SOFTEN px: soft content with no DP disparity, whose soft look is the
    ground truth). A deblurrer must not lose PSNR there.

    `linear=False` renders the same scenes, kernels and noise with the blur applied to sRGB values
    instead of linear light: a check that the model deblurs rather than undoing a tone shift.

    Items cycle through sources x kernel families, and their largest blur radius is spread evenly
    over (0, max_radius] (golden-ratio sequence), so every n >= 4 covers both families, both sources,
    small and large blur. Each item: left, right, sharp, blurry (H x W x 3 float32), in_focus (H x W
    bool), radius (H x W float32), name (str).
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    items = []
    for i in range(n):
        rng = np.random.default_rng([seed, i, _EVAL_STREAM])
        source = sources[(i // len(FAMILIES)) % len(sources)]
        family = FAMILIES[i % len(FAMILIES)]
        top = min(MILD_RADIUS, max_radius) if mild else max_radius
        target = top * (0.05 + 0.95 * ((i * 0.6180339887) % 1.0))
        soften = MILD_SOFTEN * (1 + i % 3) / 3 if mild and i % 2 else 0.0
        s = random_sample(size, rng, sources, None, max_radius, source=source, family=family, target_radius=target,
                          linear=linear, soften=soften)
        items.append({k: s[k] for k in ("left", "right", "sharp", "blurry", "in_focus", "radius")}
                     | {"name": f"eval_{'mild_' if mild else ''}{i:03d}_{source}_{family}"})
    return items


def _as_item(arrays: dict, as_numpy: bool) -> dict:
    return arrays if as_numpy else to_tensors(arrays) | {k: v for k, v in arrays.items() if isinstance(v, str)}


class SynthFolder(Dataset):
    """Reads a `k3dn synth` output folder: NNNN_left.png, NNNN_right.png, NNNN_gt.png, NNNN_depth.npy
    (+ NNNN_meta.json, from which `radius` and `in_focus` are recomputed)."""

    _pattern = re.compile(r"^(\d+)_left\.png$")

    def __init__(self, root: str | Path, as_numpy: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"synth folder {self.root} does not exist")
        self.ids = sorted(m.group(1) for p in self.root.iterdir() if (m := self._pattern.match(p.name)))
        if not self.ids:
            raise ValueError(f"{self.root} holds no NNNN_left.png: not a `k3dn synth` output folder")
        for i in self.ids:
            for part in ("right.png", "gt.png"):
                if not (self.root / f"{i}_{part}").is_file():
                    raise FileNotFoundError(f"{self.root / f'{i}_{part}'} is missing (its _left.png exists)")
        self.as_numpy = as_numpy

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict:
        i = self.ids[index]
        arrays: dict = {"name": i}
        for key, part in (("left", "left"), ("right", "right"), ("sharp", "gt")):
            arrays[key], _ = read_image(self.root / f"{i}_{part}.png")
        arrays["blurry"] = (arrays["left"] + arrays["right"]) / 2
        depth_path, meta_path = self.root / f"{i}_depth.npy", self.root / f"{i}_meta.json"
        if depth_path.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            radius = Camera(**meta["camera"]).signed_radius(np.load(depth_path))
            arrays["radius"] = radius
            arrays["in_focus"] = np.abs(radius) < IN_FOCUS_RADIUS
        return _as_item(arrays, self.as_numpy)
