"""Disparity estimator D(B_L, B_R) -> R (Sec. 3.2).

A shared feature extractor runs on each view (1/4 resolution); a cost volume correlates the left
features with the right features shifted by every *signed* horizontal offset (DP disparity changes
sign across the focal plane, Sec. 3.1); convs turn the cost volume into disparity features at 1/8
resolution, which are pooled over disp_block x disp_block blocks into R. Each r^i then covers one
block of F_B and is aligned to it by nearest-neighbour upsampling (footnote 2), for any input size
that is a multiple of the network stride.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ResBlock, block_mean, channel_sum, conv3x3, shifted_views


class DisparityEstimator(nn.Module):
    def __init__(self, features: int, out_channels: int, max_disparity: int, block: int) -> None:
        super().__init__()
        self.max_disparity = max_disparity
        self.block = block
        act = nn.LeakyReLU(0.1)
        self.extract = nn.Sequential(
            conv3x3(3, features // 2), act,
            conv3x3(features // 2, features, stride=2), act, ResBlock(features),
            conv3x3(features, features, stride=2), act, ResBlock(features),
        )
        n_shifts = 2 * max_disparity + 1
        self.head = nn.Sequential(
            conv3x3(features + n_shifts, out_channels, stride=2), act,
            ResBlock(out_channels),
            conv3x3(out_channels, out_channels),
        )
        self.scale = 1.0 / features

    def cost_volume(self, fl: torch.Tensor, fr: torch.Tensor) -> torch.Tensor:
        """Correlation of left features with right features shifted by d, d = -D..D (channels)."""
        d = self.max_disparity
        views = shifted_views(fr, [(0, s) for s in range(-d, d + 1)])
        costs = [channel_sum(fl * v) * self.scale for v in views]
        return torch.cat(costs, dim=1)

    @property
    def quarter_channels(self) -> int:
        """Channels of `with_quarter`'s 1/4-resolution map: left-view features + the 2D+1 costs."""
        return self.head[0].in_channels

    def with_quarter(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, Q): R as `forward`; Q = cat(left features, signed cost volume) at 1/4 resolution, the input of
        the blur-size selection head (selection.py). Goes through `self(...)`: a traced graph (torch.export)
        then files these ops under this module; a direct method call would file them under the caller, and the
        int8 recipes, which name layers by module, would treat the disparity convs as the root layer."""
        return self(left, right, quarter=True)

    def forward(self, left: torch.Tensor, right: torch.Tensor,
                quarter: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """left/right: B x 3 x H x W -> R: B x C_d x H/(8 block) x W/(8 block); (R, Q) if `quarter`."""
        fl, fr = self.extract(left), self.extract(right)
        q = torch.cat([fl, self.cost_volume(fl, fr)], dim=1)
        r = block_mean(self.head(q), self.block)
        return (r, q) if quarter else r
