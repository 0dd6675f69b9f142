"""Camera calibration of the DP kernel family from real views (no ground truth): pairs -> parameters JSON.

`calibrate(pairs)` fits one shared `PsfShape` to the textured blocks of every pair (psf_fit.py), then,
with `field_zones` > 1, refits the ramp and the left/right asymmetry in vertical strips across the
frame and keeps a linear trend of both against the normalized horizontal field position x in [-1, 1]
(DP phone sensors' kernels change across the field and are not mirror images of each other, Xin et
al., "Defocus Map Estimation and Deblurring from a Single Dual-Pixel Image", ICCV 2021). The result is
the parameter document that `dp_psf`'s "calibrated" families read (k3dn/data/psf_params/*.json).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .dp_family import shape_at  # noqa: F401  (the document's shape; re-exported)
from .psf_fit import PsfShape, block_spectra, fit_psf, fit_radii, merge_spectra, radius_costs, select_blocks
from .sensor import srgb_to_linear

FORMAT = "k3dn-dp-psf/1"
CAMERA_KINDS = ("dslr", "phone")
_LEFT = re.compile(r"^(?P<stem>.+)_left\.(png|tif|tiff|jpg|jpeg)$", re.IGNORECASE)


def find_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(left, right) files of a folder: every NAME_left.EXT with a NAME_right.EXT beside it, sorted.

    Only the two views are read: ground-truth frames (NAME_gt.png) are never opened.
    """
    pairs = []
    for p in sorted(folder.iterdir()):
        m = _LEFT.match(p.name)
        if m:
            right = p.with_name(f"{m.group('stem')}_right{p.suffix}")
            if right.is_file():
                pairs.append((p, right))
    return pairs


def load_pair(left: Path, right: Path) -> tuple[np.ndarray, np.ndarray]:
    """Linear-light float views of one pair (the fit models blur in linear light, as optics do)."""
    from ..io import read_image

    a, _ = read_image(left)
    b, _ = read_image(right)
    if a.shape != b.shape:
        raise ValueError(f"{left.name} {a.shape[:2]} and {right.name} {b.shape[:2]} differ in size")
    return srgb_to_linear(a), srgb_to_linear(b)


def calibrate(pairs: list[tuple[np.ndarray, np.ndarray]], camera_kind: str, block: int = 96,
              max_radius: float = 12.0, field_zones: int = 1, names: list[str] | None = None,
              min_gain: float = 0.2) -> dict:
    """Fit the kernel family to linear-light (left, right) pairs of one camera: the parameter document.

    The shape is fitted on the blocks that show DP blur at all: those where the default shape explains at
    least `min_gain` of the c = 0 residual (in-focus and noise-only blocks would fit the noise). Phones,
    whose views differ little, need a lower threshold to keep enough blocks.
    """
    if camera_kind not in CAMERA_KINDS:
        raise ValueError(f"camera kind {camera_kind!r}: choose one of {CAMERA_KINDS}")
    if not pairs:
        raise ValueError("no pairs to calibrate on")
    spectra = merge_spectra([block_spectra(left, right, block, block // 2, image_index=i)
                             for i, (left, right) in enumerate(pairs)])
    if len(spectra.p_ll) < 4:
        raise ValueError(f"only {len(spectra.p_ll)} textured {block}-px blocks: too few to fit")
    _, cost0 = fit_radii(spectra, PsfShape(), max_radius)
    zero0 = radius_costs(spectra, PsfShape(), np.zeros(1))[:, 0]
    defocused = cost0 < (1.0 - min_gain) * zero0
    shaped = select_blocks(spectra, defocused) if defocused.sum() >= 8 else spectra
    shape = fit_psf(shaped, max_radius=max_radius).shape
    fit = fit_psf(spectra, max_radius=max_radius, fit_fields=(), start=shape)
    doc = {"format": FORMAT, "camera_kind": camera_kind, "shape": asdict(fit.shape), "block": block,
           "max_radius": max_radius, "pairs": names or [f"pair_{i}" for i in range(len(pairs))],
           "fit": fit.summary(min_gain) | {"shape_fit_blocks": int(len(shaped.p_ll)), "min_gain": min_gain},
           "field": None,
           "note": "fitted from the left/right views alone (cross-convolution constraint); no ground truth read"}
    if field_zones > 1:
        doc["field"] = _field_trend(shaped, fit.shape, field_zones, max_radius)
    return doc


def _field_trend(spectra, shape: PsfShape, zones: int, max_radius: float) -> dict:
    """Refit (ramp, asym) per vertical strip; a least-squares line of each against the strip's centre x."""
    edges = np.linspace(-1.0, 1.0, zones + 1)
    xs, ramps, asyms, counts = [], [], [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (spectra.field[:, 0] >= lo) & (spectra.field[:, 0] <= hi)
        if mask.sum() < 8:
            continue
        zone = fit_psf(select_blocks(spectra, mask), max_radius=max_radius, fit_fields=("ramp", "asym"),
                       start=shape, max_evals=40, grid=False)
        xs.append(float(spectra.field[mask, 0].mean()))
        ramps.append(zone.shape.ramp)
        asyms.append(zone.shape.asym)
        counts.append(int(mask.sum()))
    if len(xs) < 2:
        return {"zones": [], "ramp_per_x": 0.0, "asym_per_x": 0.0}
    ramp_slope = float(np.polyfit(xs, ramps, 1)[0])
    asym_slope = float(np.polyfit(xs, asyms, 1)[0])
    return {"zones": [{"x": x, "ramp": r, "asym": a, "blocks": n} for x, r, a, n in
                      zip(xs, ramps, asyms, counts, strict=True)],
            "ramp_per_x": ramp_slope, "asym_per_x": asym_slope}
