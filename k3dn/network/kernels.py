"""The trainable kernel set (Sec. 3.2, Eq. 2) and the kernel query (Eq. 8-9).

The set is parameterized in the frequency domain so that the inverse of every kernel is exact
there: F(K^j) = exp(Z^j), with Z^j built to satisfy

- Hermitian symmetry, Z(-u,-v) = conj Z(u,v)      -> K^j is real;
- horizontal symmetry, Z(u,-v) = Z(u,v)           -> K^j = flip(K^j), the DP constraint of Eq. 2
  (K = (K_L + K_R)/2 with K_R = flip(K_L) is horizontally symmetric);
- Re Z in (log(min_spectrum), 0) and Z(0,0) = 0   -> |F(K)| in (min_spectrum, 1), sum(K) = 1.

So 1/F(K) = exp(-Z) exists everywhere, is bounded by 1/min_spectrum, and has the same symmetries:
the inverse kernel F^-1(1/F(K)) is real and horizontally symmetric too. Both kernel banks are
circular P x P kernels (P = kernel_size); at export they are constants (export/lower.py).

Re Z is learnt as a log-magnitude `log_mag` through `soft_bound`, a two-sided softplus bound whose
slope is 0.25-0.63 over [0.9, 0.5] x log_min and falls off only like a softplus towards either bound,
never to exactly 0 (the paper is silent on the parameterisation). The first shipped weights stored Re Z as
logits `w_re` of a sigmoid scaled to (log_min, 0): there the init's clamp put 36 % of entries where the
sigmoid's slope is ~1e-4 and the set never moved. Such files load exactly:
`_load_from_state_dict` converts w_re.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import softmax_channels


def _symmetrize(w_re: torch.Tensor, w_im: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Project a free complex field W (fft index order, N x P x P) onto the symmetric subspace.

    Z = (W(u,v) + W(u,-v) + conj W(-u,-v) + conj W(-u,v)) / 4.
    """
    p = w_re.shape[-1]
    neg = (-torch.arange(p, device=w_re.device)) % p

    def at(t: torch.Tensor, flip_u: bool, flip_v: bool) -> torch.Tensor:
        if flip_u:
            t = t.index_select(-2, neg)
        if flip_v:
            t = t.index_select(-1, neg)
        return t

    re = (w_re + at(w_re, False, True) + at(w_re, True, True) + at(w_re, True, False)) / 4
    im = (w_im + at(w_im, False, True) - at(w_im, True, True) - at(w_im, True, False)) / 4
    return re, im


def _inner_floor(log_min: float) -> float:
    """c with softplus(-c) = -log_min, so that soft_bound's range is exactly (log_min, 0)."""
    return -math.log(math.expm1(-log_min))


def soft_bound(t: torch.Tensor, log_min: float) -> torch.Tensor:
    """Map an unbounded log-magnitude t into (log_min, 0): -softplus(-(c + softplus(t - c))).

    d/dt = sigmoid(t - c) * sigmoid(-s), s = c + softplus(t - c): at most 0.63, ~|y| as y -> 0 (a
    relative step in log|F|) and ~exp(t - c) towards the floor, never exactly 0.
    """
    c = _inner_floor(log_min)
    return -F.softplus(-(c + F.softplus(t - c)))


def soft_bound_inverse(y: torch.Tensor, log_min: float) -> torch.Tensor:
    """t with soft_bound(t) = y for y in (log_min, 0) (float64 inside for an exact round trip)."""
    c = _inner_floor(log_min)
    y64 = y.double()
    s = -torch.log(torch.expm1(-y64))
    return (c + torch.log(torch.expm1(s - c))).to(y.dtype)


def _hflip_symmetrize(k: torch.Tensor) -> torch.Tensor:
    """(k + flip(k)) / 2: exact horizontal symmetry in floating point (addition commutes)."""
    return (k + k.flip(-1)) / 2


class KernelSet(nn.Module):
    """N horizontally symmetric blur kernels with exact inverses (paper Sec. 3.2, Eq. 2 and 7).

    `forward_kernels()` returns K (N x P x P), `inverse_kernels()` returns F^-1(1/F(K)) computed on
    the same P x P circular grid, both centred. Initialized as Gaussians of varied anisotropic width
    (a blur-size ladder) so the set covers in-focus to strongly defocused features from the start.
    """

    def __init__(self, num_kernels: int, kernel_size: int, min_spectrum: float = 0.05, seed: int = 0) -> None:
        super().__init__()
        self.num_kernels = num_kernels
        self.kernel_size = kernel_size
        self.log_min = math.log(min_spectrum)
        gen = torch.Generator().manual_seed(seed)
        f = torch.fft.fftfreq(kernel_size)
        fu, fv = torch.meshgrid(f, f, indexing="ij")
        sig_y = torch.linspace(0.0, 1.6, num_kernels) + 0.1 * torch.rand(num_kernels, generator=gen)
        sig_x = sig_y * (0.7 + 0.6 * torch.rand(num_kernels, generator=gen))
        log_mag = -2 * math.pi**2 * (sig_y[:, None, None] ** 2 * fu**2 + sig_x[:, None, None] ** 2 * fv**2)
        # Inside the bound with margin (the init's spectrum floor at 0.9 log_min, slope ~0.4 there).
        log_mag = log_mag.clamp(0.9 * self.log_min, -1e-3)
        noise = 0.01 * torch.randn(log_mag.shape, generator=gen)
        self.log_mag = nn.Parameter(soft_bound_inverse(log_mag, self.log_min) + noise)
        self.w_im = nn.Parameter(0.01 * torch.randn(log_mag.shape, generator=gen))
        dc = torch.ones(kernel_size, kernel_size)
        dc[0, 0] = 0.0
        self.register_buffer("not_dc", dc, persistent=False)

    def log_spectrum(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(log|F(K)|, arg F(K)) in fft index order, N x P x P each."""
        re, im = _symmetrize(self.log_mag, self.w_im)
        return soft_bound(re, self.log_min) * self.not_dc, im * self.not_dc

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Convert the first parameterisation (sigmoid logits `w_re`) to `log_mag` exactly."""
        legacy = prefix + "w_re"
        if legacy in state_dict and prefix + "log_mag" not in state_dict:
            w_re = state_dict.pop(legacy)
            re, _ = _symmetrize(w_re.double(), torch.zeros_like(w_re, dtype=torch.float64))
            y = (self.log_min * torch.sigmoid(re)).clamp(max=-1e-12)
            state_dict[prefix + "log_mag"] = soft_bound_inverse(y, self.log_min).to(w_re.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _spatial(self, log_mag: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        spec = torch.polar(torch.exp(log_mag), phase)
        k = torch.fft.ifft2(spec).real
        return _hflip_symmetrize(torch.fft.fftshift(k, dim=(-2, -1)))

    def spectrum(self) -> torch.Tensor:
        """F(K) as a complex tensor (fft index order)."""
        log_mag, phase = self.log_spectrum()
        return torch.polar(torch.exp(log_mag), phase)

    def forward_kernels(self) -> torch.Tensor:
        """K^j, j = 1..N: centred N x P x P blur kernels, each summing to 1."""
        return self._spatial(*self.log_spectrum())

    def inverse_kernels(self) -> torch.Tensor:
        """F^-1(1 / F(K^j)) (Eq. 7 and 10), centred N x P x P; exact on the circular P x P grid."""
        log_mag, phase = self.log_spectrum()
        return self._spatial(-log_mag, -phase)

    def half_aperture(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(K_L, K_R) with K_R = flip(K_L) and (K_L + K_R)/2 = K (Eq. 1-2).

        The split follows the linear left-right ramp of half-aperture DP kernels (Abuolaim et al.,
        ICCV 2021); it is a view of the set for analysis and the DP-consistency tests.
        """
        k = self.forward_kernels()
        r = self.kernel_size // 2
        ramp = torch.linspace(-1.0, 1.0, self.kernel_size, device=k.device) if r else torch.zeros(1)
        k_left = k * (1 + ramp)
        return k_left, k_left.flip(-1)


class KernelQuery(nn.Module):
    """Kernel query, Eq. 8: a^i = softmax(W_v (Sum(W_K * K) . (W_r r^i))).

    With the sparse kernel bank (kernel j non-zero in PSF channel j only), Eq. 9's
    K^i = sum_j a^i_j K^j is, channel by channel, a^i_j K^j: the PSF block (psf.py) applies it as a
    depthwise kernel times the per-pixel weight a^i_j.
    """

    def __init__(self, num_kernels: int, kernel_size: int, disp_channels: int) -> None:
        super().__init__()
        self.w_k = nn.Parameter(torch.randn(num_kernels, kernel_size, kernel_size) / kernel_size)
        self.w_r = nn.Conv2d(disp_channels, num_kernels, 1)
        self.w_v = nn.Conv2d(num_kernels, num_kernels, 1)

    def projection(self, kernels: torch.Tensor) -> torch.Tensor:
        """Sum(W_K * K): one scalar per kernel, N-vector (a constant at inference)."""
        return (self.w_k * kernels).sum(dim=(-2, -1))

    def forward(self, r: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
        """r: B x C_d x H_d x W_d disparity features -> a: B x N x H_d x W_d, softmax over N."""
        proj = self.projection(kernels).view(1, -1, 1, 1)
        return softmax_channels(self.w_v(proj * self.w_r(r)))


def depthwise(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Channel j of x convolved with kernel j (zero 'same' padding). kernels: C x P x P."""
    p = kernels.shape[-1]
    return F.conv2d(x, kernels.unsqueeze(1).to(x.dtype), padding=p // 2, groups=x.shape[1])
