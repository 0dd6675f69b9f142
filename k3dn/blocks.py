"""Small building blocks, written with operators every export target runs natively.

XNNPACK (ExecuTorch), LiteRT builtins and CoreML all take convs, element-wise ops, zero padding and
non-trivial slices. They do not all take reductions over channels, nearest interpolation or gathers,
so those are expressed here as convolutions with constant weights (see ../shared/TOOLCHAIN.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def conv1x1(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1)


class ResBlock(nn.Module):
    """conv3x3 -> LeakyReLU -> conv3x3, plus identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(channels, channels)
        self.conv2 = conv3x3(channels, channels)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


def res_stack(channels: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(channels) for _ in range(n)])


def channel_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum over the channel dim as a 1x1 conv with a constant ones weight (delegable everywhere)."""
    weight = torch.ones(1, x.shape[1], 1, 1, dtype=x.dtype, device=x.device)
    return F.conv2d(x, weight)


def nearest_upsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour upsampling by an integer factor (paper footnote 2: never bilinear).

    Written as a depthwise transposed conv with an all-ones k x k kernel and stride k, which is
    exactly nearest upsampling and is delegated by XNNPACK (interpolate(mode="nearest") is not).
    """
    if factor == 1:
        return x
    c = x.shape[1]
    weight = torch.ones(c, 1, factor, factor, dtype=x.dtype, device=x.device)
    return F.conv_transpose2d(x, weight, stride=factor, groups=c)


def block_mean(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Average over non-overlapping factor x factor blocks, as a depthwise strided conv."""
    if factor == 1:
        return x
    c = x.shape[1]
    weight = torch.full((c, 1, factor, factor), 1.0 / factor**2, dtype=x.dtype, device=x.device)
    return F.conv2d(x, weight, stride=factor, groups=c)


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[..., i, j] = x[..., i + dy, j + dx], zero outside. Zero pad + one real slice per axis.

    A shift of 0 on an axis takes no slice on it (no-op slices break CoreML conversion).
    """
    h, w = x.shape[-2:]
    if dy == 0 and dx == 0:
        return x
    if dy != 0:
        x = F.pad(x, (0, 0, max(-dy, 0), max(dy, 0)))
        x = x[..., max(dy, 0): max(dy, 0) + h, :]
    if dx != 0:
        x = F.pad(x, (max(-dx, 0), max(dx, 0), 0, 0))
        x = x[..., max(dx, 0): max(dx, 0) + w]
    return x


def softmax_channels(x: torch.Tensor) -> torch.Tensor:
    """Softmax over dim 1, computed over the last dim of an NHWC view (XNNPACK delegates that one)."""
    return torch.softmax(x.permute(0, 2, 3, 1), dim=-1).permute(0, 3, 1, 2)
