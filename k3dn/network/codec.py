"""Encoder E(B_L, B_R) -> F_B (+ skips) and decoder G(S) -> image (Sec. 3.2)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import conv3x3, res_stack


class Encoder(nn.Module):
    """Strided convs + residual blocks: full, 1/2, 1/4 maps kept as skips; F_B at 1/8."""

    def __init__(self, widths: tuple[int, int, int], feat_channels: int, blocks: tuple[int, int, int, int],
                 extra_inputs: int = 0) -> None:
        super().__init__()
        w0, w1, w2 = widths
        act = nn.LeakyReLU(0.1)
        self.level0 = nn.Sequential(conv3x3(6, w0), act, res_stack(w0, blocks[0]))
        # More input channels (the image-space blur-size selection's output) enter through their own conv, added to
        # the views' first conv: the same function as widening it, and it starts at 0 so the encoder starts as before.
        self.extra_in: nn.Conv2d | None = None
        if extra_inputs:
            self.extra_in = nn.Conv2d(extra_inputs, w0, 3, padding=1, bias=False)
            nn.init.zeros_(self.extra_in.weight)
        self.level1 = nn.Sequential(conv3x3(w0, w1, stride=2), act, res_stack(w1, blocks[1]))
        self.level2 = nn.Sequential(conv3x3(w1, w2, stride=2), act, res_stack(w2, blocks[2]))
        self.level3 = nn.Sequential(conv3x3(w2, feat_channels, stride=2), act, res_stack(feat_channels, blocks[3]))

    def forward(self, left: torch.Tensor, right: torch.Tensor,
                extra: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """`extra`: more input channels after the two views (the image-space blur-size selection's output)."""
        x = torch.cat([left, right], dim=1)
        if self.extra_in is None or extra is None:
            e0 = self.level0(x)  # called whole: layer names (calibration, int8 mixes) stay "encoder.level0.N"
        else:
            e0 = self.level0[0](x) + self.extra_in(extra)
            for i in range(1, len(self.level0)):  # registered children one by one, never a sliced Sequential
                e0 = self.level0[i](e0)
        e1 = self.level1(e0)
        e2 = self.level2(e1)
        return self.level3(e2), [e0, e1, e2]


class Decoder(nn.Module):
    """Transposed convs (x2) with additive encoder skips and residual blocks; predicts a residual
    on top of the input image (the mean of the two views)."""

    def __init__(self, widths: tuple[int, int, int], feat_channels: int, blocks: tuple[int, int, int]) -> None:
        super().__init__()
        w0, w1, w2 = widths
        self.up2 = nn.ConvTranspose2d(feat_channels, w2, 2, stride=2)
        self.dec2 = res_stack(w2, blocks[0])
        self.up1 = nn.ConvTranspose2d(w2, w1, 2, stride=2)
        self.dec1 = res_stack(w1, blocks[1])
        self.up0 = nn.ConvTranspose2d(w1, w0, 2, stride=2)
        self.dec0 = res_stack(w0, blocks[2])
        self.out = conv3x3(w0, 3)
        # Start as the identity on the input image: the network learns a residual correction.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, feats: torch.Tensor, skips: list[torch.Tensor], base: torch.Tensor) -> torch.Tensor:
        e0, e1, e2 = skips
        x = self.dec2(self.up2(feats) + e2)
        x = self.dec1(self.up1(x) + e1)
        x = self.dec0(self.up0(x) + e0)
        return base + self.out(x)
