"""Thin-lens optics: the signed circle of confusion of a scene point, in pixels.

A thin lens of focal length f and f-number N (aperture diameter A = f/N) focused at distance z_f
images a point at depth z to a blur disc of diameter

    b = A * f / (z_f - f) * (z - z_f) / z          (on the sensor, in mm)

so the signed blur radius in pixels of pitch p is c = s * (z - z_f) / z with s = A f / (2 p (z_f - f)).
c > 0 behind the focal plane (z > z_f), c < 0 in front of it; |c| saturates at s as z -> inf and grows
without bound as z -> f, so it is clipped to a maximum radius.

Sign convention of the whole simulator (calibrated on the real Canon DP pairs in
shared/data/real-dp/, where defocused background behind an in-focus subject appears shifted to the
right in the right view): for c > 0 the right view's PSF carries its weight on +x (content of the
right view moves right relative to the left view), for c < 0 the two views swap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """Thin-lens camera.

    Attributes:
        focal_mm: focal length f in mm.
        f_number: N; aperture diameter A = f / N.
        focus_m: focus distance z_f in metres (must exceed the focal length).
        pixel_um: effective pixel pitch in micrometres (sensor pitch times any downscaling).
        max_radius: |c| is clipped to this many pixels.
    """

    focal_mm: float
    f_number: float
    focus_m: float
    pixel_um: float
    max_radius: float = 16.0

    def __post_init__(self) -> None:
        if min(self.focal_mm, self.f_number, self.pixel_um, self.max_radius) <= 0:
            raise ValueError(f"camera parameters must be positive: {self}")
        if self.focus_m * 1000.0 <= self.focal_mm:
            raise ValueError(f"focus distance {self.focus_m} m must exceed the focal length {self.focal_mm} mm")

    @property
    def aperture_mm(self) -> float:
        return self.focal_mm / self.f_number

    @property
    def coc_scale(self) -> float:
        """s in c = s (z - z_f) / z: the blur radius in pixels of a point at infinity."""
        zf_mm = self.focus_m * 1000.0
        return self.aperture_mm * self.focal_mm / (zf_mm - self.focal_mm) / (2.0 * self.pixel_um * 1e-3)

    def signed_radius(self, depth_m: np.ndarray | float) -> np.ndarray:
        """Signed blur radius c (pixels, float32) of points at `depth_m` metres, clipped to max_radius."""
        z = np.maximum(np.asarray(depth_m, dtype=np.float64), 1e-6)
        c = self.coc_scale * (z - self.focus_m) / z
        return np.clip(c, -self.max_radius, self.max_radius).astype(np.float32)


def camera_for_target(depth_m: np.ndarray, focus_m: float, target_radius: float, rng: np.random.Generator,
                      max_radius: float = 16.0) -> Camera:
    """A random physical camera focused at `focus_m` whose largest |c| over `depth_m` is `target_radius`.

    Focal length (24-100 mm) and f-number (1.4-8, log-uniform) are drawn at random; the effective
    pixel pitch, which in practice is the sensor pitch times the downscaling of the image, is then
    chosen so that the scene's blur reaches `target_radius` pixels. A scene entirely at the focus
    distance gets a typical pitch (its blur is zero whatever the pitch).
    """
    focal = float(rng.uniform(24.0, 100.0))
    f_number = float(np.exp(rng.uniform(np.log(1.4), np.log(8.0))))
    focus_m = max(float(focus_m), 2e-3 * focal)
    z = np.maximum(np.asarray(depth_m, dtype=np.float64), 1e-6)
    spread = float(np.max(np.abs(1.0 - focus_m / z)))  # max |c| / s
    aperture = focal / f_number
    if spread < 1e-9 or target_radius <= 0:
        pixel_um = 20.0
    else:
        s = target_radius / spread
        pixel_um = aperture * focal / (focus_m * 1000.0 - focal) / (2.0 * s) * 1e3
    return Camera(focal, f_number, focus_m, pixel_um, max_radius)
