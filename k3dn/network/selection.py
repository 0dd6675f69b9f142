"""Per-pixel blur-size selection: Eq. 7 with soft layers, at 1/4 resolution.

The paper's kernel query (Eq. 8-9) with a sparse kernel bank (kernel j in channel j only) can only scale
a channel: the inverse of a_j K^j is K_j^-1 / a_j, so it never chooses *which* blur size is inverted at a
pixel (see psf.py). Eq. 7 read with soft layers does choose: M blur-size hypotheses, each an exact inverse
kernel applied to the *same* features, mixed per pixel by weights a_m(x) that sum to 1:

    F' = F + W_o ( sum_m a_m(x) (F (*) F^-1(1 / F(K_m))) - F )                        (Eq. 7, soft)

Design choices the paper leaves open, and why:
- One kernel per hypothesis, shared by every channel (a depthwise conv with the same P x P weight in each
  channel): a hypothesis is a blur *size*, a property of the pixel, not of the channel.
- The kernels are a `KernelSet` (Sec. 3.2): horizontally symmetric (the DP constraint K = (K_L + K_R) / 2,
  K_R = flip(K_L), Eq. 2), parameterised in the frequency domain so the inverse is exact on the P x P grid,
  trainable, and initialised as a ladder of Gaussians whose widths follow `radii` (full-resolution blur
  radii in px, divided by the working scale). Hypothesis 0 is radius 0: the identity, i.e. "in focus".
- It works at 1/4 resolution (the encoder's last skip), where blur radii of 2-12 px are 0.5-3 px and their
  spectra differ within the Nyquist band; at 1/8 small blur is nearly invisible.
- W_o is a 1x1 conv initialised to 0, so the block starts as the identity and training continues from
  weights trained without it.
- a_m(x) comes from `SelectionHead`, a small conv head on the disparity estimator's 1/4-resolution
  features and signed cost volume (the DP disparity is what tells the blur size), softmax over M.
  "oracle" and "uniform" weights (`oracle_weights`, 1/M) replace it in the design studies.

Export: the inverse kernels are constants at inference; the block is M depthwise convs, M broadcast
products with one weight channel each, adds and a 1x1 conv (export/lower.py).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ResBlock, conv3x3, softmax_channels
from .kernels import KernelSet, soft_bound_inverse


def gaussian_log_spectrum(sigmas: torch.Tensor, size: int, floor: float) -> torch.Tensor:
    """log|F(K)| of isotropic Gaussians of std `sigmas` (M) on a size x size grid (fft index order),
    clamped into (floor, 0)."""
    f = torch.fft.fftfreq(size)
    fu, fv = torch.meshgrid(f, f, indexing="ij")
    log_mag = -2 * math.pi**2 * sigmas[:, None, None] ** 2 * (fu**2 + fv**2)
    return log_mag.clamp(0.9 * floor, -1e-4)


FFT_FROM = 15  # kernel size from which training filters through the FFT (see BlurSizeSelect.filtered)


class BlurSizeSelect(nn.Module):
    """M blur-size hypotheses of exact inverse kernels, mixed per pixel (Eq. 7 with soft layers)."""

    def __init__(self, channels: int, radii: tuple[float, ...], kernel_size: int, min_spectrum: float,
                 scale: int = 4, mix_out: bool = True) -> None:
        super().__init__()
        if len(radii) < 2:
            raise ValueError(f"blur-size selection needs >= 2 hypotheses, got radii {radii}")
        self.channels = channels
        self.radii = tuple(float(r) for r in radii)
        self.scale = scale
        self.kernels = KernelSet(len(radii), kernel_size, min_spectrum)
        # A disc of radius r has std r / 2; at 1/scale resolution that is r / (2 scale).
        sigmas = torch.tensor(self.radii) / (2.0 * scale)
        log_mag = gaussian_log_spectrum(sigmas, kernel_size, self.kernels.log_min)
        with torch.no_grad():
            self.kernels.log_mag.copy_(soft_bound_inverse(log_mag, self.kernels.log_min))
            self.kernels.w_im.zero_()
        # mix_out=False (image space): F' = F + sum_m a_m (F (*) kinv_m) - F, the mixed deconvolution itself,
        # for a consumer whose own weights start at 0 (a zero W_o there would leave both without gradient).
        self.out: nn.Conv2d | None = None
        if mix_out:
            self.out = nn.Conv2d(channels, channels, 1)
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    @property
    def num_hypotheses(self) -> int:
        return len(self.radii)

    def filtered(self, feats: torch.Tensor, inverse_kernels: torch.Tensor) -> list[torch.Tensor]:
        """[F (*) kinv_m for each m]: each kernel in every channel, zero 'same' padding (as F.conv2d computes it).

        Large kernels (P >= FFT_FROM, the image-space form) go through the FFT in float32 while training: torch's
        CPU depthwise conv takes seconds per 31 x 31 kernel there (minutes under bf16 + channels_last). The
        result is the same linear filter; the lowered graph runs it as a constant conv (export/lower.py)."""
        c, p = feats.shape[1], inverse_kernels.shape[-1]
        if p < FFT_FROM or not torch.is_grad_enabled():
            return [F.conv2d(feats, inverse_kernels[m].to(feats.dtype).expand(c, 1, p, p), padding=p // 2, groups=c)
                    for m in range(inverse_kernels.shape[0])]
        h, w = feats.shape[-2:]
        r = p // 2
        size = (h + 2 * r, w + 2 * r)
        x = torch.fft.rfft2(F.pad(feats.float(), (r, r, r, r)), s=size)
        # conv2d is a correlation: the FFT convolves, so with the kernel flipped in both axes
        k = torch.fft.rfft2(inverse_kernels.float().flip(-2, -1), s=size)
        out = []
        for m in range(inverse_kernels.shape[0]):
            y = torch.fft.irfft2(x * k[m], s=size)
            out.append(y[..., 2 * r: 2 * r + h, 2 * r: 2 * r + w].to(feats.dtype))
        return out

    def mix(self, feats: torch.Tensor, inverse_kernels: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """sum_m a_m (F (*) kinv_m) - F. feats: B x C x H x W; inverse_kernels: M x P x P; a: B x M x H x W."""
        acc = -feats
        for m, y in enumerate(self.filtered(feats, inverse_kernels)):
            acc = acc + y * a[:, m:m + 1]
        return acc

    def forward(self, feats: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """F' of the module docstring; a: B x M x H x W weights (sum 1 over M) at the features' resolution."""
        mixed = self.mix(feats, self.kernels.inverse_kernels(), a)
        return feats + (mixed if self.out is None else self.out(mixed))


class SelectionHead(nn.Module):
    """a_m(x) from the disparity estimator's 1/4-resolution view features and signed cost volume."""

    def __init__(self, in_channels: int, hidden: int, hypotheses: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv3x3(in_channels, hidden), nn.LeakyReLU(0.1), ResBlock(hidden),
                                  nn.Conv2d(hidden, hypotheses, 1))

    def forward(self, quarter: torch.Tensor) -> torch.Tensor:
        return softmax_channels(self.body(quarter))


def oracle_weights(radius: torch.Tensor, radii: tuple[float, ...], scale: int = 4) -> torch.Tensor:
    """Design-study weights from the simulator's true blur: |c| (B x 1 x H x W, px) averaged over
    scale x scale blocks, then hat (linear-interpolation) weights over the hypotheses' radii -> B x M x H/s x W/s.
    Radii beyond the ladder go to its last hypothesis."""
    r = F.avg_pool2d(radius.abs().float(), scale)
    ladder = torch.tensor(radii, dtype=r.dtype, device=r.device)
    r = r.clamp(float(ladder[0]), float(ladder[-1]))
    weights = []
    for m in range(len(radii)):
        w = torch.zeros_like(r)
        if m > 0:
            lo, hi = ladder[m - 1], ladder[m]
            w = torch.where((r >= lo) & (r <= hi), (r - lo) / (hi - lo), w)
        if m < len(radii) - 1:
            lo, hi = ladder[m], ladder[m + 1]
            w = torch.where((r >= lo) & (r < hi), (hi - r) / (hi - lo), w)
        weights.append(w)
    out = torch.cat(weights, dim=1)
    return out / out.sum(dim=1, keepdim=True).clamp(min=1e-6)


def agreement(a: torch.Tensor, radius: torch.Tensor, radii: tuple[float, ...]) -> dict[str, float]:
    """How well selection weights a (B x M x h x w) follow the true blur radius (B x 1 x H x W, px): mean entropy
    / log M (1 = uniform), how often the argmax is the hypothesis nearest the block-averaged radius, the mean
    weight on that hypothesis, and chance (1/M)."""
    a = a.float()
    target = oracle_weights(radius, radii, scale=radius.shape[-1] // a.shape[-1])
    best = target.argmax(1, keepdim=True)
    entropy = (-(a * a.clamp(min=1e-12).log()).sum(1)).mean() / math.log(a.shape[1])
    return {"entropy": float(entropy), "argmax_agreement": float((a.argmax(1, keepdim=True) == best).float().mean()),
            "weight_on_true": float(a.gather(1, best).mean()), "chance": 1.0 / a.shape[1]}


def uniform_weights(like: torch.Tensor, hypotheses: int) -> torch.Tensor:
    """1/M everywhere: B x M x H x W for features `like` (B x C x H x W)."""
    b, _, h, w = like.shape
    return torch.full((b, hypotheses, h, w), 1.0 / hypotheses, dtype=like.dtype, device=like.device)
