"""PSF block: deblurring with the queried inverse kernels (Eq. 10) and reblurring with the
forward kernels (Eq. 17).

The features are first rotated into the PSF space by an orthogonal 1x1 mixing W (C_f = N channels),
where the sparse kernel bank puts kernel j in channel j. Per pixel i, Eq. 9 gives the kernel
K^i = a^i_j K^j in channel j. Then

    deblur (Eq. 10):  F^_B = W^T [ s * (F^-1(1/F(K)) (*) (W F_B)) * h(a) ]
    reblur (Eq. 17):  F^_I = W^T [ (K (*) (W F_I)) * g(a) ],   g(a) = N a

with s = exp(log_scale) a learnt per-channel scale (init 1) and h set by `config.psf_gain`:

- "multiply" (the default): h(a) = N a. The query *selects* inverse kernels: channel j's
  deblurred response is weighted by how much of pixel i's blur kernel j explains. N a has mean 1
  (softmax over N), is positive, and has a gradient everywhere.
- "divide" (the first shipped weights): h(a) = 1 / clip(N a, min_gain), the literal inverse of
  a^i_j K^j, F^-1(1/F(a K)) = F^-1(1/F(K)) / a. It attenuates the selected kernel and boosts the
  others up to 1/min_gain, with no gradient below the clip, which is why "multiply" replaced it. Kept so those
  files load and run exactly.

W is orthogonal, so W^-1 = W^T: at export both become plain 1x1 conv weights, and s folds into the
constant inverse kernels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import orthogonal

from .config import PSF_GAINS
from .kernels import depthwise


class PSFBlock(nn.Module):
    def __init__(self, channels: int, min_gain: float, mode: str = "multiply") -> None:
        super().__init__()
        if mode not in PSF_GAINS:
            raise ValueError(f"unknown psf_gain {mode!r}; choose from {PSF_GAINS}")
        self.channels = channels
        self.min_gain = min_gain
        self.mode = mode
        self.mix = orthogonal(nn.Linear(channels, channels, bias=False))
        self.log_scale = nn.Parameter(torch.zeros(channels))

    def mixing(self) -> torch.Tensor:
        """W as a C x C x 1 x 1 conv weight."""
        return self.mix.weight[:, :, None, None]

    def gain(self, a: torch.Tensor) -> torch.Tensor:
        """g(a) = N a for a: B x N x H x W (Eq. 9's weights, mean 1 over the N kernels)."""
        return a * self.channels

    def deblur_gain(self, a: torch.Tensor) -> torch.Tensor:
        """h(a): N a ("multiply") or 1 / clip(N a, min_gain) ("divide")."""
        if self.mode == "multiply":
            return self.gain(a)
        return 1.0 / self.gain(a).clamp(min=self.min_gain)

    def scale(self) -> torch.Tensor:
        """s = exp(log_scale), 1 x C x 1 x 1."""
        return self.log_scale.exp().view(1, -1, 1, 1)

    def _filter(self, feats: torch.Tensor, kernels: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        w = self.mixing()
        y = depthwise(F.conv2d(feats, w), kernels) * scale
        return F.conv2d(y, w.transpose(0, 1))

    def deblur(self, feats: torch.Tensor, inverse_kernels: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Eq. 10. feats: B x C x H x W; inverse_kernels: C x P x P; a: B x C x H x W (upsampled)."""
        return self._filter(feats, inverse_kernels, self.scale() * self.deblur_gain(a))

    def reblur(self, feats: torch.Tensor, kernels: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Eq. 17: the same kernels and weights, forward direction (training only)."""
        return self._filter(feats, kernels, self.gain(a).clamp(min=self.min_gain) if self.mode == "divide"
                            else self.gain(a))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Files from before log_scale existed load with s = 1 (their exact function)."""
        state_dict.setdefault(prefix + "log_scale", torch.zeros(self.channels))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
