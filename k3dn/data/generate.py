"""Random DP samples: scene source -> depth -> random camera -> DP simulation -> crop.

One function, `random_sample`, shared by the training dataset, the evaluation set and `k3dn synth`.
A sample is a deterministic function of its random generator, so (seed, index) pins it down.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from .deadleaves import dead_leaves
from .dp_family import CALIBRATED_FAMILIES, calibrated_shape
from .dp_psf import FAMILIES, RDPD_GRID, ButterworthParams
from .optics import camera_for_target
from .photos import ImageFolder, bundled_scene
from .simulate import dp_hflip, kernel_margin, simulate_pair

SOURCES = ("deadleaves", "photos", "user")
DEFAULT_MAX_RADIUS = 12.0  # px; the network's cost volume covers +-16 px of disparity
RADIUS_LIMIT = 16.0  # px: the largest --max-radius a command accepts (DPDD's Canon blur at full resolution, 1680 px)
# Share of training samples blurred in linear light (as optics do); the rest are blurred on the sRGB
# values directly, as many simple DP simulators do. Training on both keeps the model from learning the
# tone shift that linear-light blur causes in sRGB as a shortcut: trained on linear light alone, it
# lost 0.3-1.6 dB (vs gaining 1.2-1.4 dB) on sRGB-space renders of the same scenes and kernels.
LINEAR_PROB = 0.65


def random_scene(shape: tuple[int, int], rng: np.random.Generator, source: str,
                 folder: ImageFolder | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(all-in-focus sRGB image H x W x 3, depth H x W in metres) from one source."""
    if source == "deadleaves":
        return dead_leaves(shape, rng)
    if source == "photos":
        return bundled_scene(shape, rng)
    if source == "user":
        if folder is None:
            raise ValueError("source 'user' needs an image folder")
        return folder.scene(shape, rng)
    raise ValueError(f"unknown scene source {source!r}; choose from {SOURCES}")


def random_sample(shape: tuple[int, int], rng: np.random.Generator, sources: tuple[str, ...] = ("deadleaves", "photos"),
                  folder: ImageFolder | None = None, max_radius: float = DEFAULT_MAX_RADIUS,
                  source: str | None = None, family: str | None = None, target_radius: float | None = None,
                  noise: str | None = "random", brightness: str | None = "random", flip: bool = True,
                  linear: bool | None = True, soften: float = 0.0, families: tuple[str, ...] = FAMILIES) -> dict:
    """One simulated DP capture of size `shape`.

    The scene is drawn on a canvas larger by the biggest kernel's half-size on each side and the
    result cropped, so blur at the crop border sees real scene content. The camera focuses on the
    depth of a random pixel (so part of the scene is exactly in focus) with an aperture/pixel pitch
    that makes the largest |c| in the scene `target_radius` (uniform in [0, max_radius] if None).
    `linear`: blur in linear light (True), on the sRGB values (False), or draw it (None: linear with
    probability LINEAR_PROB). `soften` > 0 Gaussian-blurs the scene itself by that sigma (px) before
    the camera sees it: soft content (smooth surfaces, motion, a lens's own softness) that is in
    focus and has no DP disparity, so the target is that soft image and a deblurrer must leave it.
    `families`: the kernel families `family=None` draws from (default the two published ones; a
    calibrated family uses its fitted shape at the crop's horizontal place in the frame).

    Returns:
        dict of numpy arrays left, right, blurry, sharp (H x W x 3 float32), radius (H x W float32),
        in_focus (H x W bool), depth (H x W float32, metres), and `meta` (a JSON-able dict: source,
        family, kernel parameters, camera, sensor).
    """
    h, w = shape
    source = source or sources[int(rng.integers(len(sources)))]
    family = family or families[int(rng.integers(len(families)))]
    params = RDPD_GRID[int(rng.integers(len(RDPD_GRID)))] if family == "butterworth" else ButterworthParams()
    m = kernel_margin(max_radius, "butterworth")  # the widest family
    image, depth = random_scene((h + 2 * m, w + 2 * m), rng, source, folder)
    if soften > 0:
        import cv2

        image = cv2.GaussianBlur(image, (0, 0), sigmaX=soften, borderType=cv2.BORDER_REFLECT)

    if target_radius is None:
        target_radius = float(max_radius * rng.random() ** 0.8)
    inner = depth[m:m + h, m:m + w]
    focus = float(inner[rng.integers(h), rng.integers(w)]) if rng.random() < 0.85 \
        else float(np.quantile(inner, rng.uniform(0.0, 1.0)))
    camera = camera_for_target(inner, focus, target_radius, rng, max_radius=max_radius)
    radius = camera.signed_radius(depth)

    # Where this crop sits in the sensor frame (for the left/right gain gradients).
    size = float(rng.uniform(0.25, 1.0))
    x0, y0 = rng.uniform(-1.0, 1.0 - 2 * size, 2)
    window = (float(x0), float(x0 + 2 * size), float(y0), float(y0 + 2 * size))
    if family in CALIBRATED_FAMILIES:
        params = calibrated_shape(family, x0 + size)
    if linear is None:
        linear = bool(rng.random() < LINEAR_PROB)
    sim = simulate_pair(image, radius, family, rng, noise=noise, brightness=brightness, psf_params=params,
                        window=window, pad=False, linear=linear)
    crop = (slice(m, m + h), slice(m, m + w))
    out = {k: np.ascontiguousarray(sim[k][crop]) for k in ("left", "right", "sharp", "radius", "in_focus")}
    out["depth"] = np.ascontiguousarray(depth[crop])
    if flip and rng.random() < 0.5:
        out = dp_hflip(out)
    out["blurry"] = (out["left"] + out["right"]) / 2
    out["meta"] = {"source": source, "family": family,
                   "psf_params": asdict(params) if family == "butterworth" or family in CALIBRATED_FAMILIES else None,
                   "camera": asdict(camera), "sensor": asdict(sim["sensor"]), "target_radius": target_radius,
                   "linear": linear, "soften": soften}
    return out
