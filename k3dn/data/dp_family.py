"""The calibrated DP kernel family: a disc with apodization, left-right ramp and left/right asymmetry.

This is the family `psf_fit` fits to real views and the simulator renders as ``"calibrated_dslr"`` /
``"calibrated_phone"``, with the shape `k3dn calibrate-psf` fitted for that camera kind (package data
``psf_params/<kind>.json``). Shape of the right photodiode's kernel for a point behind the focal plane,
inside the disc of radius r (the blur size):

  * apodization: 1 + apod (2 rho^2 / r^2 - 1) (apod > 0: brighter rim, as real DP PSFs);
  * ramp: 1 + ramp ((x + chord sqrt(r^2 - y^2) + (1 - chord) r) / r - 1), clipped at 0 (ramp = chord = 1
    is the Punnappurath translating disc, chord = 0 a straight ramp as in RDPD, ramp > 1 nears a half
    disc): it sets how the disparity relates to the blur size;
  * asymmetry: the right photodiode's ramp is ramp (1 + asym), the left one's ramp (1 - asym), so K_L is
    not the mirror image of K_R when asym != 0 (as on phones).

The phone shape also changes with the horizontal field position x in [-1, 1] (ramp and asym linear in
x; DP kernels vary across a phone's field, Xin et al., "Defocus Map Estimation and Deblurring from a
Single Dual-Pixel Image", ICCV 2021), so a training crop uses the shape at its place in the frame.
Signed radius c > 0 puts the right view's weight on +x, as dp_psf's families.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .dp_psf import FAMILIES, ButterworthParams, _lattice, _splat, dp_kernels, kernel_centroid

CALIBRATED_FAMILIES = ("calibrated_dslr", "calibrated_phone")
ALL_FAMILIES = FAMILIES + CALIBRATED_FAMILIES
PARAMS_PACKAGE = "k3dn.data"  # package data: psf_params/<kind>.json, read through importlib.resources


SHAPE_FIELDS = ("ramp", "chord", "apod", "asym")
SHAPE_BOUNDS = {"ramp": (0.05, 3.0), "chord": (0.0, 1.0), "apod": (-1.0, 0.95), "asym": (-0.6, 0.6)}


@dataclass(frozen=True)
class PsfShape:
    """Shape of the parameterised DP kernel family (see the module docstring); the radius is separate."""

    ramp: float = 1.0
    chord: float = 1.0
    apod: float = 0.0
    asym: float = 0.0

    def clipped(self) -> PsfShape:
        """The same shape with every field inside SHAPE_BOUNDS."""
        return PsfShape(**{k: float(np.clip(getattr(self, k), *SHAPE_BOUNDS[k])) for k in SHAPE_FIELDS})


def _right_base(radius: float, ramp: float, chord: float, apod: float, supersample: int) -> np.ndarray:
    """Kernel of the right photodiode for a point behind the focal plane (weight on +x), float64, sums to 1."""
    half = int(math.ceil(radius)) + 1
    if radius < 0.25:
        k = np.zeros((2 * half + 1, 2 * half + 1))
        k[half, half] = 1.0
        return k
    x, y = _lattice(radius, supersample)
    r2 = radius * radius
    inside = x * x + y * y <= r2
    chord_x = np.sqrt(np.maximum(r2 - y * y, 0.0))
    slope = np.maximum(1.0 + ramp * ((x + chord * chord_x + (1.0 - chord) * radius) / radius - 1.0), 0.0)
    rim = np.maximum(1.0 + apod * (2.0 * (x * x + y * y) / r2 - 1.0), 0.0)
    k = _splat(x, y, np.where(inside, slope * rim, 0.0), half)
    total = k.sum()
    if total <= 0:  # a fully clipped ramp: fall back to the plain disc
        k = _splat(x, y, inside.astype(np.float64), half)
        total = k.sum()
    return k / total


def family_kernels(signed_radius: float, shape: PsfShape = PsfShape(),
                   supersample: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """(K_L, K_R) float64, same odd size, each summing to 1, for a signed radius c (px).

    c > 0 puts the right view's weight on +x (the simulator's convention); c < 0 mirrors both kernels,
    so each photodiode keeps its own ramp and asymmetry on either side of the focal plane.
    """
    r = abs(float(signed_radius))
    right = _right_base(r, shape.ramp * (1.0 + shape.asym), shape.chord, shape.apod, supersample)
    left = _right_base(r, shape.ramp * (1.0 - shape.asym), shape.chord, shape.apod, supersample)[:, ::-1]
    if signed_radius < 0:
        right, left = right[:, ::-1], left[:, ::-1]
    return np.ascontiguousarray(left), np.ascontiguousarray(right)


def kernel_disparity(k_left: np.ndarray, k_right: np.ndarray) -> float:
    """centroid(K_R) - centroid(K_L) in px: the DP disparity a point at this radius shows."""
    return kernel_centroid(k_right) - kernel_centroid(k_left)

def shape_at(doc: dict, field_x: float = 0.0) -> PsfShape:
    """A parameter document's kernel shape at normalized horizontal field position x (0: centre)."""
    shape = PsfShape(**{k: float(v) for k, v in doc["shape"].items()})
    field = doc.get("field") or {}
    if field:
        shape = replace(shape, ramp=shape.ramp + field.get("ramp_per_x", 0.0) * field_x,
                        asym=shape.asym + field.get("asym_per_x", 0.0) * field_x)
    return shape.clipped()


@lru_cache(maxsize=4)
def calibration_doc(family: str) -> dict:
    """The committed parameter document of a calibrated family (psf_params/<kind>.json)."""
    import json
    from importlib.resources import files

    if family not in CALIBRATED_FAMILIES:
        raise ValueError(f"{family!r} is not a calibrated family; choose one of {CALIBRATED_FAMILIES}")
    kind = family.removeprefix("calibrated_")
    return json.loads(files(PARAMS_PACKAGE).joinpath("psf_params", f"{kind}.json").read_text())


def calibrated_shape(family: str, field_x: float = 0.0):
    """The fitted PsfShape of a calibrated family at horizontal field position x in [-1, 1] (0: centre).

    x is rounded to 0.1 so a training stream reuses a bounded set of cached kernels.
    """
    return shape_at(calibration_doc(family), round(float(np.clip(field_x, -1.0, 1.0)), 1))


@lru_cache(maxsize=2048)
def _calibrated_pair(radius: float, shape) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for k in family_kernels(radius, shape, supersample=8):
        k = k.astype(np.float32)
        k /= k.sum(dtype=np.float64)
        k.setflags(write=False)
        out.append(k)
    return out[0], out[1]


def view_kernels(signed_radius: float, family: str = "butterworth",
                 params: ButterworthParams | PsfShape | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(K_L, K_R) float32 for any family: dp_psf.dp_kernels for the published ones; for a calibrated one
    `params` is its PsfShape (None: the fitted shape at the frame centre), and c = 0 gives a 3x3 delta."""
    if family in CALIBRATED_FAMILIES:
        shape = params if isinstance(params, PsfShape) else calibrated_shape(family)
        k_left, k_right = _calibrated_pair(round(float(signed_radius), 6), shape)
        return k_left.copy(), k_right.copy()
    if family not in FAMILIES:
        raise ValueError(f"unknown kernel family {family!r}; choose one of {ALL_FAMILIES}")
    return dp_kernels(signed_radius, family, params if isinstance(params, ButterworthParams) else None)
