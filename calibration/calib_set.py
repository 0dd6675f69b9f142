"""The calibration set: N dual-pixel pairs every backend calibrates on, stored once as a small `.npz`.

Pairs come from the project's DP simulator (`k3dn.data.random_sample`: dead-leaves and bundled photos,
both PSF families, blur radius spread over (0, max_radius] by a golden-ratio sequence, random noise and
left/right brightness) and, optionally, from user folders in the DPDD layout or `k3dn synth` output
(random crops, at most half of the set). The random stream is disjoint from the training and
evaluation streams, and the whole set is a pure function of (n, size, seed, folders).

Storage: left and right views as uint8 (N x H x W x 3, 8-bit sRGB is plenty for activation ranges),
default 64 pairs at 128 x 128: 6.3 MB raw, ~5 MB compressed. `sha256` hashes the array bytes, so a
sidecar names exactly the data its artifact was calibrated on.

Artifacts have a static input shape; `CalibSet.inputs(size)` turns the stored pairs into inputs of
that shape: pairs larger than the artifact are centre-cropped, smaller ones are tiled into a mosaic
(both views alike, so the DP geometry holds inside every tile). Every backend gets the same inputs.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from k3dn.export.common import commit_path, temp_path

DEFAULT_N = 64
DEFAULT_SIZE = (128, 128)
DEFAULT_SEED = 0
FORMAT = "k3dn-calib-v1"
_CALIB_STREAM = 0xCA11B  # keeps calibration samples disjoint from training (seed, i) and eval streams


@dataclass
class CalibSet:
    """left, right: N x H x W x 3 uint8; meta: how the set was built (JSON-able)."""

    left: np.ndarray
    right: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.left.shape != self.right.shape or self.left.ndim != 4 or self.left.shape[-1] != 3:
            raise ValueError(f"calibration views must both be N x H x W x 3, got {self.left.shape}, {self.right.shape}")
        if self.left.dtype != np.uint8 or self.right.dtype != np.uint8:
            raise ValueError("calibration views must be uint8")

    def __len__(self) -> int:
        return self.left.shape[0]

    @property
    def size(self) -> tuple[int, int]:
        return int(self.left.shape[1]), int(self.left.shape[2])

    @property
    def sha256(self) -> str:
        """Hash of the pixel data (shape + bytes of both views): identifies the set however it was stored."""
        h = hashlib.sha256(str(self.left.shape).encode())
        h.update(self.left.tobytes())
        h.update(self.right.tobytes())
        return h.hexdigest()

    def describe(self) -> dict:
        """What a sidecar records about the set."""
        return {"sha256": self.sha256, "pairs": len(self), "size": list(self.size), **self.meta}

    def inputs(self, size: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(left, right) pairs of 1 x 3 x H x W float32 in [0, 1] at the artifact's `size`.

        Centre crops when the stored pairs are at least `size`; otherwise mosaics of consecutive pairs
        (each pair is used at least once, the last mosaic wraps around to the first pairs).
        """
        h, w = size
        ph, pw = self.size
        ty, tx = math.ceil(h / ph), math.ceil(w / pw)
        per = ty * tx
        out = []
        for start in range(0, len(self), per):
            views = []
            for stack in (self.left, self.right):
                rows = [np.concatenate([stack[(start + r * tx + c) % len(self)] for c in range(tx)], axis=1)
                        for r in range(ty)]
                canvas = np.concatenate(rows, axis=0)
                y0, x0 = (canvas.shape[0] - h) // 2, (canvas.shape[1] - w) // 2
                crop = canvas[y0:y0 + h, x0:x0 + w].astype(np.float32) / 255.0
                views.append(np.ascontiguousarray(crop.transpose(2, 0, 1)[None]))
            out.append((views[0], views[1]))
        return out

    def save(self, path: str | Path) -> Path:
        """Write the set as a compressed .npz, atomically."""
        path = Path(path)
        buf = io.BytesIO()
        np.savez_compressed(buf, left=self.left, right=self.right,
                            meta=np.array(json.dumps({"format": FORMAT, **self.meta})))
        tmp = temp_path(path)
        try:
            tmp.write_bytes(buf.getvalue())
            return commit_path(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()


def load_calib_set(path: str | Path) -> CalibSet:
    """Read a set written by `CalibSet.save`; ValueError if it is not one."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            left, right = data["left"], data["right"]
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{path}: not a k3dn calibration set ({exc})") from exc
    if meta.pop("format", None) != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} calibration set")
    return CalibSet(left, right, meta)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(x, np.float64) * 255.0), 0, 255).astype(np.uint8)


def _folder_items(folder: Path, size: tuple[int, int], seed: int):
    """Crops of `size` from a `k3dn synth` folder or a DPDD root (its train split, else test), as numpy items."""
    from k3dn.data import DPDDDataset, SynthFolder

    if any(folder.glob("*_left.png")):
        items = SynthFolder(folder, as_numpy=True)
        for i in range(len(items)):
            item = items[i]
            yield _random_crop(item, size, np.random.default_rng([seed, i, _CALIB_STREAM, 1])), f"{folder.name}/{i}"
        return
    for split in ("train", "test", "val"):
        try:
            data = DPDDDataset(folder, split=split, patch=max(size), seed=seed, as_numpy=True)
        except FileNotFoundError:
            continue
        for i in range(len(data)):
            item = data[i]
            yield _random_crop(item, size, np.random.default_rng([seed, i, _CALIB_STREAM, 2])), item["name"]
        return
    raise ValueError(f"{folder}: neither a `k3dn synth` folder (NNNN_left.png) nor a DPDD root")


def _random_crop(item: dict, size: tuple[int, int], rng: np.random.Generator) -> dict:
    h, w = item["left"].shape[:2]
    if h < size[0] or w < size[1]:
        raise ValueError(f"an image of {h}x{w} is smaller than the calibration size {size[0]}x{size[1]}")
    y0, x0 = int(rng.integers(0, h - size[0] + 1)), int(rng.integers(0, w - size[1] + 1))
    return {k: item[k][y0:y0 + size[0], x0:x0 + size[1]] for k in ("left", "right")}


def build_calib_set(n: int = DEFAULT_N, size: tuple[int, int] = DEFAULT_SIZE, seed: int = DEFAULT_SEED,
                    folders: Sequence[str | Path] = (), progress: bool = True) -> CalibSet:
    """N calibration pairs: up to n // 2 crops from `folders`, the rest simulated (see the module doc)."""
    from k3dn.data import random_sample
    from k3dn.data.generate import DEFAULT_MAX_RADIUS

    if n <= 0:
        raise ValueError(f"the calibration set needs at least one pair, got n={n}")
    if min(size) < 16:
        raise ValueError(f"calibration pairs must be at least 16x16, got {size[0]}x{size[1]}")
    lefts, rights, names = [], [], []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"calibration folder {folder} does not exist")
        for item, name in _folder_items(folder, size, seed):
            if len(names) >= n // 2:
                break
            lefts.append(_to_uint8(item["left"]))
            rights.append(_to_uint8(item["right"]))
            names.append(f"user:{name}")
    n_user = len(names)
    for i in tqdm(range(n - n_user), desc="calibration set", unit="pair", disable=not progress, leave=False):
        rng = np.random.default_rng([seed, i, _CALIB_STREAM])
        target = DEFAULT_MAX_RADIUS * (0.05 + 0.95 * ((i * 0.6180339887) % 1.0))  # spread blur sizes evenly
        s = random_sample(size, rng, target_radius=target)
        lefts.append(_to_uint8(s["left"]))
        rights.append(_to_uint8(s["right"]))
        names.append(f"sim:{s['meta']['source']}/{s['meta']['family']}/r{target:.1f}")
    meta = {"n": n, "seed": seed, "pair_size": list(size), "simulated": n - n_user, "user": n_user,
            "folders": [str(f) for f in folders], "dtype": "uint8", "names": names}
    return CalibSet(np.stack(lefts), np.stack(rights), meta)
