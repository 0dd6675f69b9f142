"""Training loss, Eq. 18: L = L_deb(I, I^) + lambda * L_reb(B, B^)."""

from __future__ import annotations

import torch


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """mean(sqrt((pred - target)^2 + eps^2)): an L1 loss that is smooth at 0."""
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def frequency_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |FFT(pred) - FFT(target)| (real and imaginary parts): weights the high frequencies that
    deblurring must restore and that a pixel loss under-weights."""
    diff = torch.fft.rfft2(pred.float()) - torch.fft.rfft2(target.float())
    return torch.view_as_real(diff).abs().mean()


def k3dn_loss(
    restored: torch.Tensor,
    sharp: torch.Tensor,
    reblurred: torch.Tensor | None,
    blurry: torch.Tensor,
    reblur_weight: float = 0.5,
    freq_weight: float = 0.05,
) -> dict[str, torch.Tensor]:
    """Eq. 18. L_deb = Charbonnier + freq_weight * frequency L1 on the deblurred image;
    L_reb = Charbonnier between the reblurred image B^ and B = (B_L + B_R)/2.

    Returns a dict with 'loss' (to backpropagate), 'deblur' and 'reblur' (detached for logging).
    `reblurred=None` or reblur_weight=0 gives the no-reblur ablation.
    """
    deblur = charbonnier(restored, sharp) + freq_weight * frequency_l1(restored, sharp)
    total = deblur
    reblur = torch.zeros((), device=restored.device)
    if reblurred is not None and reblur_weight > 0:
        reblur = charbonnier(reblurred, blurry)
        total = total + reblur_weight * reblur
    return {"loss": total, "deblur": deblur.detach(), "reblur": reblur.detach()}


def selection_loss(select: torch.Tensor, radius: torch.Tensor, radii: tuple[float, ...]) -> torch.Tensor:
    """Auxiliary loss of the blur-size selection (selection.py): cross-entropy of the predicted weights
    (B x M x h x w, softmax over M) against the hat weights of the simulator's true blur radius
    (B x 1 x H x W), i.e. KL(oracle || predicted) up to the oracle's own entropy. Not in the paper."""
    from ..network.selection import oracle_weights

    target = oracle_weights(radius, radii, scale=radius.shape[-1] // select.shape[-1])
    return -(target * torch.log(select.clamp(min=1e-6))).sum(dim=1).mean()
