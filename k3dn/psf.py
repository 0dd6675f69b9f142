"""PSF block: deblurring with the queried inverse kernels (Eq. 10) and reblurring with the
forward kernels (Eq. 17).

The features are first rotated into the PSF space by an orthogonal 1x1 mixing W (C_f = N channels),
where the sparse kernel bank puts kernel j in channel j. Per pixel i, Eq. 9 gives the kernel
K^i = a^i_j K^j in channel j, and its inverse is F^-1(1/F(a^i_j K^j)) = F^-1(1/F(K^j)) / a^i_j. So

    deblur (Eq. 10):  F^_B = W^T [ (F^-1(1/F(K)) (*) (W F_B)) / g(a) ]
    reblur (Eq. 17):  F^_I = W^T [ (K (*) (W F_I)) * g(a) ]

with g(a) = clip(N a, min_gain): a sums to 1 over N kernels, so N a has mean 1; the clip keeps the
inverse gain 1/g bounded. Where a is constant over a region, deblur undoes reblur exactly (up to
the circular-vs-linear border of the P x P kernels). W is orthogonal, so W^-1 = W^T: at export
both become plain 1x1 conv weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import orthogonal

from .kernels import depthwise


class PSFBlock(nn.Module):
    def __init__(self, channels: int, min_gain: float) -> None:
        super().__init__()
        self.channels = channels
        self.min_gain = min_gain
        self.mix = orthogonal(nn.Linear(channels, channels, bias=False))

    def mixing(self) -> torch.Tensor:
        """W as a C x C x 1 x 1 conv weight."""
        return self.mix.weight[:, :, None, None]

    def gain(self, a: torch.Tensor) -> torch.Tensor:
        """g(a) = clip(N a, min_gain) for a: B x N x H x W."""
        return (a * self.channels).clamp(min=self.min_gain)

    def _filter(self, feats: torch.Tensor, kernels: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        w = self.mixing()
        y = depthwise(F.conv2d(feats, w), kernels) * scale
        return F.conv2d(y, w.transpose(0, 1))

    def deblur(self, feats: torch.Tensor, inverse_kernels: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Eq. 10. feats: B x C x H x W; inverse_kernels: C x P x P; a: B x C x H x W (upsampled)."""
        return self._filter(feats, inverse_kernels, 1.0 / self.gain(a))

    def reblur(self, feats: torch.Tensor, kernels: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Eq. 17: the same kernels and weights, forward direction (training only)."""
        return self._filter(feats, kernels, self.gain(a))
