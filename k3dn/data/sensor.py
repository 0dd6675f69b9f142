"""Sensor model: per-view gain (DP brightness difference / vignetting), Poisson-Gaussian noise, sRGB, 16 bit.

Real DP pairs are not photometrically equal: each photodiode sees one half of the exit pupil, so
their gains differ and the difference varies across the frame. On the Pixel pairs in
shared/data/real-dp/ the left/right mean ratio is 0.88-1.07 and drifts by 4-8 % top to bottom; the
Canon pairs are within 1 %. Noise is applied in linear light, to each view independently, as
Poisson-Gaussian (variance shot * x + read^2): sigma ~ 0.005-0.01 at mid-grey on the real pairs,
higher on phone captures at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SensorParams:
    """Photometric parameters of one DP capture.

    Attributes:
        shot: Poisson gain a (linear units): the noise variance is a * x + read^2.
        read: Gaussian read-noise sigma (linear units).
        lr_log_gain: log(gain_L / gain_R) at the frame centre.
        grad_x: change of log(gain_L / gain_R) from the centre to the right edge of the frame.
        grad_y: same, from the centre to the bottom edge.
        bits: output quantization (16 or 8), None for float output.
    """

    shot: float = 0.0
    read: float = 0.0
    lr_log_gain: float = 0.0
    grad_x: float = 0.0
    grad_y: float = 0.0
    bits: int | None = 16

    @property
    def noiseless(self) -> bool:
        return self.shot <= 0 and self.read <= 0


def random_sensor(rng: np.random.Generator, bits: int | None = 16) -> SensorParams:
    """Draw a capture: 20 % noiseless, else shot/read log-uniform from clean DSLR to phone-like.

    The largest values give sigma ~ 0.025 at sRGB mid-grey (a small-pixel phone sensor at ISO 800+).
    """
    if rng.random() < 0.2:
        shot = read = 0.0
    else:
        shot = float(np.exp(rng.uniform(np.log(1e-5), np.log(1.5e-3))))
        read = float(np.exp(rng.uniform(np.log(2e-4), np.log(8e-3))))
    return SensorParams(shot=shot, read=read, lr_log_gain=float(rng.uniform(-0.13, 0.13)),
                        grad_x=float(rng.uniform(-0.05, 0.05)), grad_y=float(rng.uniform(-0.05, 0.05)), bits=bits)


def view_gains(shape: tuple[int, int], params: SensorParams,
               window: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """H x W x 1 gains (left, right) with gain_L * gain_R == 1 so the mean brightness is preserved.

    `window` = (x0, x1, y0, y1) is where the image lies in normalized frame coordinates ([-1, 1] is
    the whole frame); a training patch passes the window of its crop.
    """
    h, w = shape
    x = np.linspace(window[0], window[1], w, dtype=np.float32)[None, :]
    y = np.linspace(window[2], window[3], h, dtype=np.float32)[:, None]
    half_log = 0.5 * (params.lr_log_gain + params.grad_x * x + params.grad_y * y)
    return np.exp(half_log)[..., None], np.exp(-half_log)[..., None]


def add_noise(linear: np.ndarray, params: SensorParams, rng: np.random.Generator) -> np.ndarray:
    """Poisson-Gaussian noise on a linear-light image (float32, not clipped)."""
    if params.noiseless:
        return linear
    x = np.clip(linear, 0.0, None)
    if params.shot > 0:
        x = rng.poisson(x / params.shot).astype(np.float32) * np.float32(params.shot)
    if params.read > 0:
        x = x + rng.normal(0.0, params.read, size=x.shape).astype(np.float32)
    return x.astype(np.float32)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def quantize(x: np.ndarray, bits: int | None) -> np.ndarray:
    """Clip to [0, 1] and round to the grid of a `bits`-bit integer image (None: clip only)."""
    x = np.clip(x, 0.0, 1.0).astype(np.float32)
    if bits is None:
        return x
    levels = float(2**bits - 1)
    return (np.round(x * levels) / levels).astype(np.float32)
