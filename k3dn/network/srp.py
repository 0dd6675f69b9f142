"""SRP block: sharp-region preservation by local attention between F_B and F^_B (Eq. 11-16)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import channel_sum, conv1x1, shifted_views


def local_attention(q: torch.Tensor, k: torch.Tensor, window: int) -> torch.Tensor:
    """Eq. 11: O_B, the scaled dot product of each query with the s x s neighbourhood of keys.

    Returns B x s^2 x H x W (zero keys outside the image). Written as s^2 products with shifted views
    of the zero-padded keys, each reduced by a ones 1x1 conv: no unfold/im2col or gather, so every
    export target runs it natively.
    """
    r = window // 2
    scale = 1.0 / math.sqrt(q.shape[1])
    offsets = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)]
    scores = [channel_sum(q * k_shift) for k_shift in shifted_views(k, offsets)]
    return torch.cat(scores, dim=1) * scale


class SRPBlock(nn.Module):
    """S(F_B, F^_B) = FFN(V_B + V_B^) (Eq. 14), V_B = Phi_V1(O_B) . F_B (Eq. 15),
    V_B^ = Phi_V2(O_B) . F^_B (Eq. 16), Q_B and K_B from Phi_Q, Phi_K (Eq. 12-13).

    The FFN is the usual transformer one with its residual: V + conv(act(conv(V))).
    Phi_V1, Phi_V2 start with bias 1/2, so the block starts as the mean of F_B and F^_B.
    """

    def __init__(self, channels: int, window: int, ffn_expand: int) -> None:
        super().__init__()
        self.window = window
        self.phi_q = conv1x1(2 * channels, 2 * channels)
        self.phi_k = conv1x1(2 * channels, 2 * channels)
        self.phi_v1 = conv1x1(window * window, channels)
        self.phi_v2 = conv1x1(window * window, channels)
        for phi in (self.phi_v1, self.phi_v2):
            nn.init.constant_(phi.bias, 0.5)
        self.ffn = nn.Sequential(
            conv1x1(channels, ffn_expand * channels), nn.LeakyReLU(0.1), conv1x1(ffn_expand * channels, channels)
        )

    def similarity(self, feats: torch.Tensor, deblurred: torch.Tensor) -> torch.Tensor:
        """O_B (Eq. 11-13)."""
        both = torch.cat([feats, deblurred], dim=1)
        return local_attention(self.phi_q(both), self.phi_k(both), self.window)

    def forward(self, feats: torch.Tensor, deblurred: torch.Tensor) -> torch.Tensor:
        o = self.similarity(feats, deblurred)
        v = self.phi_v1(o) * feats + self.phi_v2(o) * deblurred
        return v + self.ffn(v)
