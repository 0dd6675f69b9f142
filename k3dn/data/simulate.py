"""The DP forward model end to end: all-in-focus image + signed blur radius -> (left, right, ...).

    linearize (sRGB -> linear) -> layered DP render with the left/right PSFs (render.py, dp_psf.py)
    -> per-view gain -> Poisson-Gaussian noise per view -> sRGB -> quantize (sensor.py)

Conventions (shared by every dataset in k3dn.data): images H x W x 3 float32 in [0, 1], sRGB;
`radius` is the signed blur radius c in pixels (c > 0 behind the focal plane, where the right view
is displaced to +x); `blurry` = (left + right) / 2 of the returned (noisy, quantized) views, which is
exactly what the network computes from its inputs and what a conventional sensor records;
`in_focus` = |c| < 0.5 px.
"""

from __future__ import annotations

import numpy as np

from .dp_family import ALL_FAMILIES, PsfShape, view_kernels
from .dp_psf import ButterworthParams
from .render import radius_levels, render
from .sensor import SensorParams, add_noise, linear_to_srgb, quantize, random_sensor, srgb_to_linear, view_gains

IN_FOCUS_RADIUS = 0.5


def as_float_image(image: np.ndarray) -> np.ndarray:
    """uint8/uint16/float H x W x 3 -> float32 in [0, 1]."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def kernel_margin(max_radius: float, family: str = "butterworth",
                  params: ButterworthParams | PsfShape | None = None) -> int:
    """Half-size of the largest kernel for |c| <= max_radius: the context a render needs around a crop."""
    levels = radius_levels(max(max_radius, 0.5))
    return view_kernels(float(levels[-1]), family, params)[0].shape[0] // 2


def render_dp(image: np.ndarray, signed_radius: np.ndarray, family: str = "butterworth",
              params: ButterworthParams | PsfShape | None = None, full: bool = False,
              pad: bool = True) -> dict[str, np.ndarray]:
    """Noise-free DP views of a (linear-light) image: {"left", "right"} (+ "full"), H x W x 3 float32.

    `full` adds the render with the full-aperture kernel (K_L + K_R) / 2. With `pad`, image and radius
    are mirror-padded by the largest kernel's half-size so the blur at the border sees content.
    """
    if family not in ALL_FAMILIES:
        raise ValueError(f"unknown kernel family {family!r}; choose one of {ALL_FAMILIES}")
    image = np.asarray(image, np.float32)
    signed_radius = np.asarray(signed_radius, np.float32)
    if signed_radius.shape != image.shape[:2]:
        raise ValueError(f"radius map {signed_radius.shape} does not match image {image.shape[:2]}")
    if not np.all(np.isfinite(signed_radius)):
        raise ValueError("radius map contains NaN or inf")

    def kernel_fn(c: float) -> np.ndarray:
        k_left, k_right = view_kernels(c, family, params)
        stack = [k_left, k_right] + ([(k_left + k_right) / 2] if full else [])
        return np.stack(stack)

    h, w = signed_radius.shape
    m = kernel_margin(float(np.abs(signed_radius).max()), family, params) if pad else 0
    m = min(m, h - 1, w - 1)
    if m > 0:
        image = np.pad(image, ((m, m), (m, m), (0, 0)), mode="reflect")
        signed_radius = np.pad(signed_radius, m, mode="reflect")
    views = render(image, signed_radius, kernel_fn, crop=(m, m + h, m, m + w))
    names = ["left", "right"] + (["full"] if full else [])
    return {name: np.ascontiguousarray(v) for name, v in zip(names, views, strict=True)}


def _sensor_from(noise, brightness, rng: np.random.Generator, bits: int | None) -> SensorParams:
    drawn = random_sensor(rng, bits)
    if noise is None:
        shot = read = 0.0
    elif isinstance(noise, str) and noise == "random":
        shot, read = drawn.shot, drawn.read
    else:
        shot, read = (float(v) for v in noise)
    if brightness is None:
        gains = (0.0, 0.0, 0.0)
    elif isinstance(brightness, str) and brightness == "random":
        gains = (drawn.lr_log_gain, drawn.grad_x, drawn.grad_y)
    else:
        gains = tuple(float(v) for v in brightness)
    return SensorParams(shot, read, *gains, bits=bits)


def simulate_pair(image: np.ndarray, signed_radius: np.ndarray, family: str = "butterworth",
                  seed: int | np.random.Generator | None = 0, noise=None, brightness=None,
                  psf_params: ButterworthParams | PsfShape | None = None, linear: bool = True, bits: int | None = 16,
                  window: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0), pad: bool = True) -> dict:
    """Simulate a dual-pixel capture of an all-in-focus image.

    Args:
        image: H x W x 3 all-in-focus image, sRGB (float in [0, 1], uint8 or uint16).
        signed_radius: H x W signed blur radius c in pixels (see `optics.Camera.signed_radius`).
        family: "butterworth" (RDPD, Abuolaim et al. ICCV 2021), "disc" (Punnappurath et al. ICCP 2020),
            or a calibrated family ("calibrated_dslr", "calibrated_phone"; see dp_psf).
        seed: seed or Generator for the random draws (noise realization, "random" settings).
        noise: None (off), "random", or (shot, read) Poisson-Gaussian parameters in linear light.
        brightness: None (equal views), "random", or (lr_log_gain, grad_x, grad_y); see SensorParams.
        psf_params: Butterworth kernel shape (default RDPD's n=3, cutoff 2.5, beta 0.1), or for a
            calibrated family its psf_fit.PsfShape (default: the fitted shape at the frame centre).
        linear: blur and add noise in linear light (sRGB decoded), as a camera does before its ISP.
        bits: quantize outputs to this many bits (16 like DPDD), None for float.
        window: where the image sits in the sensor frame, for the gain gradients.
        pad: mirror-pad so the blur at the border sees content (callers that render a canvas with
            its own margin and crop it pass False).

    Returns:
        dict of float32 arrays: left, right, blurry ((left + right) / 2), sharp (H x W x 3);
        radius (H x W signed c), in_focus (H x W bool, |c| < 0.5); and `sensor`, the SensorParams used.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sharp = as_float_image(image)
    radius = np.asarray(signed_radius, np.float32)
    sensor = _sensor_from(noise, brightness, rng, bits)
    lin = srgb_to_linear(sharp) if linear else sharp
    views = render_dp(lin, radius, family, psf_params, pad=pad)
    gain_l, gain_r = view_gains(radius.shape, sensor, window)
    out = {}
    for name, gain in (("left", gain_l), ("right", gain_r)):
        v = views[name] if (sensor.lr_log_gain == 0 and sensor.grad_x == 0 and sensor.grad_y == 0) \
            else views[name] * gain
        v = add_noise(v, sensor, rng)
        out[name] = quantize(linear_to_srgb(v) if linear else v, bits)
    out["blurry"] = (out["left"] + out["right"]) / 2
    out["sharp"] = quantize(sharp, bits)
    out["radius"] = radius
    out["in_focus"] = np.abs(radius) < IN_FOCUS_RADIUS
    out["sensor"] = sensor
    return out


def dp_hflip(sample: dict) -> dict:
    """Mirror a DP sample horizontally. The views swap: the mirrored left view is the old right one.

    Mirroring the world swaps which photodiode sees which half of the pupil, so flip(R) becomes the new
    left view and the sign convention (right view displaced to +x behind the focal plane) still holds;
    the signed radius is unchanged. Arrays are H x W (x C) numpy or C x H x W torch tensors.
    """

    def flip(x):
        if isinstance(x, np.ndarray):
            return np.ascontiguousarray(x[:, ::-1]) if x.ndim >= 2 else x
        if hasattr(x, "flip") and getattr(x, "ndim", 0) >= 2:
            return x.flip(-1)
        return x

    out = {k: flip(v) for k, v in sample.items()}
    if "left" in sample and "right" in sample:
        out["left"], out["right"] = flip(sample["right"]), flip(sample["left"])
    return out
