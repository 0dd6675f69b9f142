"""Photographic scene sources: images bundled with scikit-image, and user folders.

Nothing is fetched at run time: every bundled name below ships inside the scikit-image wheel
(skimage/data/*.png|jpg). `motorcycle` is the left view of the Middlebury 2014 stereo pair with its
ground-truth disparity, converted to depth; the others get a synthetic depth map (depth.py).
Grey textures (brick, grass, gravel) are tinted with two random colours.

A user folder holds all-in-focus images (PNG, TIFF, JPEG; 8 or 16 bit) and, optionally, a depth
map per image named `<stem>_depth.npy` (float, any positive unit, larger = farther) or
`<stem>_depth.png`/`.tif` (grey, larger = farther); images without one get a synthetic depth.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

from ..io import read_image
from .depth import disparity_to_depth, synthetic_depth

BUNDLED_COLOUR = ("astronaut", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "motorcycle")
# Never used for training or the eval set: `k3dn demo` shows the model on this photograph.
HELD_OUT = "chelsea"
BUNDLED_GREY = ("brick", "grass", "gravel")
BUNDLED = BUNDLED_COLOUR + BUNDLED_GREY
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")


@cache
def load_bundled(name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(image H x W x 3 or H x W float32 in [0, 1], disparity or None) of a scikit-image sample."""
    from skimage import data

    if name not in BUNDLED and name != HELD_OUT:
        raise ValueError(f"unknown bundled image {name!r}; choose one of {BUNDLED}")
    if name == "motorcycle":
        left, _, disparity = data.stereo_motorcycle()
        return left.astype(np.float32) / 255.0, disparity.astype(np.float32)
    return getattr(data, name)().astype(np.float32) / 255.0, None


def _tint(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dark, light = rng.uniform(0.0, 0.5, 3), rng.uniform(0.5, 1.0, 3)
    return (dark + (light - dark) * grey[..., None]).astype(np.float32)


def random_crop(image: np.ndarray, depth: np.ndarray, shape: tuple[int, int], rng: np.random.Generator,
                scale_range: tuple[float, float] = (0.5, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Rescale (never below the crop size) and crop image and depth to `shape`, with random flips/rot90.

    Geometric augmentation of the *scene* is always valid: the DP pair is simulated afterwards.
    """
    h, w = shape
    scale = float(rng.uniform(*scale_range))
    scale = max(scale, h / image.shape[0], w / image.shape[1])
    if abs(scale - 1.0) > 1e-3:
        size = (max(w, int(round(image.shape[1] * scale))), max(h, int(round(image.shape[0] * scale))))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        image = np.clip(cv2.resize(image, size, interpolation=interp), 0, 1)
        depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
    y0 = int(rng.integers(0, image.shape[0] - h + 1))
    x0 = int(rng.integers(0, image.shape[1] - w + 1))
    image, depth = image[y0:y0 + h, x0:x0 + w], depth[y0:y0 + h, x0:x0 + w]
    if rng.random() < 0.5:
        image, depth = image[:, ::-1], depth[:, ::-1]
    if rng.random() < 0.2:
        image, depth = image[::-1], depth[::-1]
    if h == w and rng.random() < 0.25:
        k = int(rng.integers(1, 4))
        image, depth = np.rot90(image, k), np.rot90(depth, k)
    return np.ascontiguousarray(image, np.float32), np.ascontiguousarray(depth, np.float32)


def bundled_scene(shape: tuple[int, int], rng: np.random.Generator,
                  names: tuple[str, ...] = BUNDLED) -> tuple[np.ndarray, np.ndarray]:
    """A random crop of a bundled photograph and its (real or synthetic) depth, metres."""
    name = names[int(rng.integers(len(names)))]
    image, disparity = load_bundled(name)
    if image.ndim == 2:
        image = _tint(image, rng)
    if disparity is not None:
        depth = disparity_to_depth(disparity, rng)
        return random_crop(image, depth, shape, rng, (0.6, 1.0))
    # Synthetic depth is drawn at the crop size so its structure does not depend on the photo size.
    dummy = np.zeros(image.shape[:2], np.float32)
    image, _ = random_crop(image, dummy, shape, rng)
    return image, synthetic_depth(shape, rng, image=image)


class ImageFolder:
    """All-in-focus images of a user folder (+ optional depth maps), as a scene source."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} does not exist")
        self.files = sorted(p for p in self.root.iterdir()
                            if p.suffix.lower() in IMAGE_SUFFIXES and not p.stem.endswith("_depth"))
        if not self.files:
            raise ValueError(f"image folder {self.root} holds no PNG/TIFF/JPEG image")

    def __len__(self) -> int:
        return len(self.files)

    def depth_path(self, image_path: Path) -> Path | None:
        for suffix in (".npy", ".png", ".tif", ".tiff"):
            p = image_path.with_name(f"{image_path.stem}_depth{suffix}")
            if p.is_file():
                return p
        return None

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        path = self.files[index]
        image, _ = read_image(path, allow_gray=True)
        dpath = self.depth_path(path)
        if dpath is None:
            return image, None
        if dpath.suffix == ".npy":
            depth = np.load(dpath).astype(np.float32)
        else:
            raw = cv2.imread(str(dpath), cv2.IMREAD_UNCHANGED)
            if raw is None:
                raise ValueError(f"{dpath}: not a readable depth image")
            depth = (raw if raw.ndim == 2 else raw[..., 0]).astype(np.float32)
        if depth.shape != image.shape[:2]:
            raise ValueError(f"{dpath}: depth {depth.shape} does not match image {image.shape[:2]}")
        valid = np.isfinite(depth) & (depth > 0)
        if not valid.any():
            raise ValueError(f"{dpath}: no positive depth value")
        # Rescale the unknown unit so the nearest valid point is 0.5-2 m away (only ratios matter).
        depth = np.where(valid, depth, depth[valid].max())
        return image, depth / float(depth.min())

    def scene(self, shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        image, depth = self.load(int(rng.integers(len(self.files))))
        if depth is None:
            image, _ = random_crop(image, np.zeros(image.shape[:2], np.float32), shape, rng)
            return image, synthetic_depth(shape, rng, image=image)
        return random_crop(image, depth * float(rng.uniform(0.5, 2.0)), shape, rng)
