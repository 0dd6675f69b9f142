"""The one place where inputs are padded to the network stride and outputs cropped back."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_amounts(height: int, width: int, stride: int) -> tuple[int, int]:
    """Rows and columns to add (bottom, right) so both sizes become multiples of stride."""
    return (-height) % stride, (-width) % stride


def pad_to_stride(x: torch.Tensor, stride: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom/right of an N x C x H x W tensor to multiples of stride.

    Returns the padded tensor and the original (H, W) for `crop`. Reflect padding needs the pad to
    be smaller than the size, which holds for inputs of at least `stride` pixels.
    """
    h, w = x.shape[-2:]
    ph, pw = pad_amounts(h, w, stride)
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, (h, w)


def crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo pad_to_stride."""
    h, w = size
    if x.shape[-2:] == (h, w):
        return x
    return x[..., :h, :w]
