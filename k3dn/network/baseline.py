"""The U-Net baseline of the evaluation table: K3DN's encoder and decoder with plain residual blocks
in between, and no disparity estimator, kernel set, PSF block, SRP block or reblur branch.

Its 1/8-resolution body is sized so the total MACs roughly equal K3DN-Tiny's (`k3dn info`-style
count), so the comparison isolates the K3DN modules, not model size.
"""

from __future__ import annotations

import torch

from .blocks import res_stack
from .codec import Decoder, Encoder
from .config import K3DNConfig
from .model import PairRestorer


class UNetBaseline(PairRestorer):
    def __init__(self, config: K3DNConfig, body_blocks: int = 4) -> None:
        super().__init__()
        self.config = config
        c = config
        self.encoder = Encoder(c.widths, c.feat_channels, c.enc_blocks)
        self.body = res_stack(c.feat_channels, body_blocks)
        self.decoder = Decoder(c.widths, c.feat_channels, c.dec_blocks)

    def _deblur(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, None]:
        feats, skips = self.encoder(left, right)
        return self.decoder(self.body(feats), skips, (left + right) / 2), None

    def deblur_and_reblur(
        self, left: torch.Tensor, right: torch.Tensor, sharp: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        """Same signature as K3DN's training pass; there is no reblur branch."""
        self._check_patch(left)
        return self._deblur(left, right)
