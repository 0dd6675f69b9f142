"""An auxiliary training signal for the disparity estimator: the simulator's signed blur map (issue 27, item 3).

K3DN trains D(B_L, B_R) (Sec. 3.2) only through the deblurring loss (Eq. 18); the paper gives R no target of its
own. A simulated pair knows its signed blur radius c(x) (negative in front of the focal plane, positive behind it,
the sign DP disparity carries). Here a linear readout of R -- a 1x1 conv C_d -> 1, trained with the network and
never part of the model, its weights files or any export -- regresses c averaged over each of R's cells:

    L_disp = mean | W_r R - avgpool(c) / RADIUS_SCALE |,      L = Eq. 18 + disp_loss_weight * L_disp

A linear readout, so R itself must carry the blur size and its sign where the kernel query (Eq. 8) reads it. Not in
the paper; measured at equal steps against a control
(docs/experiments/2026-12-08-stage-14-infocus-disparity-supervision.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RADIUS_SCALE = 8.0  # px: c / RADIUS_SCALE keeps the simulator's blur (|c| <= 12-16 px) within about +-2
# The readout starts from scratch inside a trained network, usually fine-tuned at lr 1e-4, where 250 Adam steps move a
# weight by at most 0.025; like a linear probe it trains at READOUT_LR_MULT x the run's rate (same warm-up and cosine).
# (In the 250-step study its L1 stayed at the zero predictor's level at 1x and at 10x alike: see the page above.)
READOUT_LR_MULT = 10.0


class BlurReadout(nn.Module):
    """W_r: R (B x C_d x h x w) -> the signed blur radius per cell, in units of RADIUS_SCALE px."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return self.conv(r.float())


def signed_blur_loss(pred: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """L1 between the readout (B x 1 x h x w) and the true signed radius (B x 1 x H x W, px) averaged over each
    (H/h) x (W/w) cell and divided by RADIUS_SCALE."""
    if radius.shape[-2] % pred.shape[-2] or radius.shape[-1] % pred.shape[-1]:
        raise ValueError(f"blur map {tuple(radius.shape[-2:])} is not a multiple of R's grid {tuple(pred.shape[-2:])}")
    cell = (radius.shape[-2] // pred.shape[-2], radius.shape[-1] // pred.shape[-1])
    target = F.avg_pool2d(radius.float(), cell) / RADIUS_SCALE
    return (pred - target).abs().mean()
