"""Small building blocks, written with operators every export target runs natively.

XNNPACK (ExecuTorch), LiteRT builtins and CoreML all take convs, element-wise ops, zero padding and
non-trivial slices. They do not all take reductions over channels, nearest interpolation or gathers,
so those are expressed here as convolutions with constant weights (see ../shared/TOOLCHAIN.md).
"""

from __future__ import annotations

from collections.abc import Iterator

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

    Written as rank-4 reshapes and broadcast products with ones: every backend runs these natively.
    (interpolate(mode="nearest") is not delegated by XNNPACK; an all-ones grouped transposed conv is,
    but TFLite has no grouped transposed conv and splits it into one op per channel.)
    """
    if factor == 1:
        return x
    n, c, h, w = x.shape
    ones = torch.ones(1, 1, 1, factor, dtype=x.dtype, device=x.device)
    x = (x.reshape(n, c * h, w, 1) * ones).reshape(n, c * h, 1, w * factor)
    return (x * ones.reshape(1, 1, factor, 1)).reshape(n, c, h * factor, w * factor)


def block_mean(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Average over non-overlapping factor x factor blocks, as a depthwise strided conv."""
    if factor == 1:
        return x
    c = x.shape[1]
    weight = torch.full((c, 1, factor, factor), 1.0 / factor**2, dtype=x.dtype, device=x.device)
    return F.conv2d(x, weight, stride=factor, groups=c)


def shifted_views(x: torch.Tensor, shifts: list[tuple[int, int]]) -> Iterator[torch.Tensor]:
    """out_k[..., i, j] = x[..., i + dy_k, j + dx_k], zero outside, for every (dy, dx) in shifts, one at a time.

    One zero pad by the largest shift, then one slice per shift (each a real slice of the padded
    tensor: no-op slices break CoreML conversion). A generator on purpose: an exported graph keeps the
    program order, and XNNPACK (ExecuTorch, LiteRT) copies every slice, so a list made all 81 SRP window slices
    live at once (1.2 GB of the 1.6 GB graph-order floor at 1024x1024); consumed one by one, each slice dies at
    its product.
    """
    h, w = x.shape[-2:]
    ry = max(abs(dy) for dy, _ in shifts)
    rx = max(abs(dx) for _, dx in shifts)
    padded = F.pad(x, (rx, rx, ry, ry))
    return (padded[..., ry + dy: ry + dy + h, rx + dx: rx + dx + w] for dy, dx in shifts)


def softmax_channels(x: torch.Tensor) -> torch.Tensor:
    """Softmax over dim 1 of N x C x H x W, computed over the last dim of an N x HW x C view.

    Not permute-to-NHWC: ExecuTorch 1.4.1's XNNPACK channels-last pass treats a permute after a conv as
    layout-neutral and the softmax then runs over the wrong axis (wrong numbers, still "delegated").
    A reshape forces the delegate back to NCHW first.
    """
    n, c, h, w = x.shape
    y = torch.softmax(x.reshape(n, c, h * w).transpose(1, 2), dim=-1)
    return y.transpose(1, 2).reshape(n, c, h, w)
