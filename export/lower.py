"""Lowering: the trained K3DN -> an inference-only module made of plain, delegable operators.

Everything the training graph computes from parameters alone is evaluated once, here, and stored
as constant conv weights (DESIGN.md, "Lowering for phones"):

- the inverse kernels F^-1(1/F(K^j)) (Eq. 7, 10) -> a depthwise Conv2d weight (and the forward
  kernels K^j, Eq. 17, when a reblur path is asked for);
- the kernel-set projection Sum(W_K * K) (Eq. 8) -> folded into the W_r 1x1 conv
  (proj . (W_r r + b) = (proj W_r) r + proj b);
- the orthogonal PSF mixing W and its inverse W^T -> two plain 1x1 Conv2d weights, so the
  orthogonal parametrization (matrix_exp) is gone;
- BatchNorm (none today) -> folded into the conv before it;
- every transposed conv with kernel = stride (the decoder's k2 s2 upsamplers) -> a 1x1 conv to
  k^2 x the channels + pixel_shuffle, exactly: int8 quantizers annotate conv2d but not all of them
  conv_transpose2d (litert-torch left the decoder's TRANSPOSE_CONV weights in float32), and NPUs
  run a 1x1 conv + depth-to-space better than a strided transposed conv.

The channel softmax and nearest upsampling are k3dn.network.blocks' export-safe forms (reshape-based: see
their docstrings for the ExecuTorch and TFLite problems the obvious forms hit).

The encoder, disparity estimator, SRP block and decoder are the trained submodules, deep-copied
(the SRP local attention is already s^2 zero-pad + slice products reduced by ones 1x1 convs).
The lowered module takes inputs that are already padded to `config.stride` (reflect padding is not
delegable, so it stays in the pipeline, k3dn/network/padding.py) and does no input validation.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from k3dn.network.blocks import nearest_upsample, softmax_channels
from k3dn.network.config import K3DNConfig
from k3dn.network.model import K3DN

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm that directly follows a conv in an nn.Sequential into that conv.

    Works in place and returns `module`. The BN is replaced by nn.Identity. A BatchNorm that does not
    follow a conv is left as it is (still exact in eval mode) with a warning, since it is then an
    extra op in the exported graph.
    """
    folded: set[int] = set()
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for prev, name in zip(names, names[1:], strict=False):
            conv, bn = seq._modules[prev], seq._modules[name]
            if isinstance(conv, _CONV) and isinstance(bn, _BN) and bn.track_running_stats:
                transpose = isinstance(conv, nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d)
                seq._modules[prev] = fuse_conv_bn_eval(conv.eval(), bn.eval(), transpose=transpose)
                seq._modules[name] = nn.Identity()
                folded.add(id(bn))
    left = [n for n, m in module.named_modules() if isinstance(m, _BN) and id(m) not in folded]
    if left:
        warnings.warn(f"BatchNorm not after a conv, left unfolded: {left}", stacklevel=2)
    return module


class ShuffleUpsample(nn.Module):
    """ConvTranspose2d(kernel = stride = r, no padding, groups 1) as conv1x1 -> pixel_shuffle(r), exactly.

    ConvTranspose2d gives out[co, r i + a, r j + b] = sum_ci x[ci, i, j] W[ci, co, a, b] + bias[co];
    pixel_shuffle reads channel co r^2 + a r + b into that same position, so the 1x1 conv weight is W
    permuted to (co, a, b, ci). The weight is an attribute of this module (no child conv), so the ops
    keep the transposed conv's layer name in the quantization recipes (calibration.pt2e).
    """

    def __init__(self, tconv: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not is_shuffle_upsample(tconv):
            raise ValueError(f"not a kernel = stride transposed conv without padding or groups: {tconv}")
        r = tconv.stride[0]
        cin, cout = tconv.in_channels, tconv.out_channels
        w = tconv.weight.detach().permute(1, 2, 3, 0).reshape(cout * r * r, cin, 1, 1)
        self.weight = nn.Parameter(w.clone().contiguous(), requires_grad=False)
        b = tconv.bias.detach().repeat_interleave(r * r) if tconv.bias is not None else None
        self.bias = None if b is None else nn.Parameter(b.clone().contiguous(), requires_grad=False)
        self.factor = r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(F.conv2d(x, self.weight, self.bias), self.factor)

    def as_conv_transpose(self) -> nn.ConvTranspose2d:
        """The equivalent frozen ConvTranspose2d (the inverse of the constructor's rewrite)."""
        r, cin = self.factor, self.weight.shape[1]
        cout = self.weight.shape[0] // (r * r)
        tconv = nn.ConvTranspose2d(cin, cout, r, stride=r, bias=self.bias is not None)
        w = self.weight.detach().reshape(cout, r, r, cin).permute(3, 0, 1, 2)
        tconv.weight = nn.Parameter(w.clone().contiguous(), requires_grad=False)
        if self.bias is not None:
            tconv.bias = nn.Parameter(self.bias.detach()[::r * r].clone().contiguous(), requires_grad=False)
        return tconv.eval()


def is_shuffle_upsample(m: nn.Module) -> bool:
    """Whether `m` is a ConvTranspose2d that ShuffleUpsample replaces exactly."""
    return (isinstance(m, nn.ConvTranspose2d) and m.kernel_size == m.stride and m.kernel_size[0] == m.kernel_size[1]
            and m.padding == (0, 0) and m.output_padding == (0, 0) and m.dilation == (1, 1) and m.groups == 1)


def _replace_modules(module: nn.Module, match: Callable[[nn.Module], bool],
                     build: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """Replace, in place, every descendant `m` of `module` with `match(m)` by `build(m)`; returns `module`."""
    for name, child in list(module.named_children()):
        if match(child):
            setattr(module, name, build(child))
        else:
            _replace_modules(child, match, build)
    return module


def shuffle_transposed_convs(module: nn.Module) -> nn.Module:
    """Replace, in place, every ConvTranspose2d that `is_shuffle_upsample` by a ShuffleUpsample."""
    return _replace_modules(module, is_shuffle_upsample, ShuffleUpsample)


def with_transposed_convs(module: nn.Module) -> nn.Module:
    """A deep copy of `module` with every ShuffleUpsample turned back into its ConvTranspose2d.

    For CoreML: conv_transpose is a Neural Engine op and its weight-only int8 covers it, while where
    pixel_shuffle runs there is not verified here (export.coreml's op audit).
    """
    return _replace_modules(copy.deepcopy(module), lambda m: isinstance(m, ShuffleUpsample),
                            lambda m: m.as_conv_transpose())


def _const_conv(weight: torch.Tensor, bias: torch.Tensor | None = None, groups: int = 1) -> nn.Conv2d:
    """A frozen Conv2d with the given weight (cout x cin/groups x k x k), 'same' zero padding."""
    cout, cin_g, kh, kw = weight.shape
    conv = nn.Conv2d(cin_g * groups, cout, (kh, kw), padding=(kh // 2, kw // 2), groups=groups, bias=bias is not None)
    conv.weight = nn.Parameter(weight.detach().clone().contiguous(), requires_grad=False)
    if bias is not None:
        conv.bias = nn.Parameter(bias.detach().clone().contiguous(), requires_grad=False)
    return conv


def _frozen(module: nn.Module) -> nn.Module:
    module = copy.deepcopy(module).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class LoweredK3DN(nn.Module):
    """Inference-only K3DN: `forward(left, right) -> sharp` on padded N x 3 x H x W inputs in [0, 1]
    (H, W multiples of `config.stride`), output clamped to [0, 1]; no FFT, complex, matrix
    exponential/inverse or reciprocal in the graph."""

    def __init__(self, model: K3DN, with_reblur: bool = False) -> None:
        super().__init__()
        c = model.config
        self.config: K3DNConfig = c
        with torch.no_grad():
            forward_kernels = model.kernels.forward_kernels().float()
            # s = exp(log_scale) folds into the constant inverse kernels (psf.py).
            inverse_kernels = model.kernels.inverse_kernels().float() * model.psf.scale().view(-1, 1, 1).float()
            proj = model.query.projection(forward_kernels).float()
            mixing = model.psf.mixing().detach().float()
            w_r = model.query.w_r
            # Eq. 8: a = softmax(W_v (proj . (W_r r))); the constant proj is folded into W_r.
            self.w_r = _const_conv(w_r.weight * proj.view(-1, 1, 1, 1), w_r.bias * proj)
            self.w_v = _frozen(model.query.w_v)
            # Eq. 10: F^_B = W^T [ (s K^-1 (*) (W F_B)) * h(a) ], depthwise with zero 'same' padding.
            self.mix = _const_conv(mixing)
            self.unmix = _const_conv(mixing.transpose(0, 1).contiguous())
            self.inverse = _const_conv(inverse_kernels.unsqueeze(1), groups=c.feat_channels)
            self.forward_kernels = (
                _const_conv(forward_kernels.unsqueeze(1), groups=c.feat_channels) if with_reblur else None
            )
        self.select_inverse = nn.ModuleList()
        self.select_out = self.select_head = None
        self.select_uniform = self.select_image = False
        if model.select is not None:
            if c.select_mode == "oracle":
                raise ValueError("a model whose blur-size selection reads the true radius (select_mode 'oracle', a "
                                 "design study) cannot be lowered: no deployed input carries the radius")
            with torch.no_grad():
                # Eq. 7 (soft): one constant depthwise conv per hypothesis, the same kernel in every channel.
                skip = model.select.channels
                for k in model.select.kernels.inverse_kernels().float():
                    self.select_inverse.append(_const_conv(k.expand(skip, 1, *k.shape).contiguous(), groups=skip))
            self.select_image = c.select_scale == 1
            self.select_out = nn.Identity() if model.select.out is None else _frozen(model.select.out)
            self.select_uniform = c.select_mode == "uniform"
            self.select_head = None if self.select_uniform else fold_batchnorm(_frozen(model.select_head))
        self.encoder = fold_batchnorm(_frozen(model.encoder))
        self.disparity = fold_batchnorm(_frozen(model.disparity))
        self.srp = fold_batchnorm(_frozen(model.srp))
        self.decoder = shuffle_transposed_convs(fold_batchnorm(_frozen(model.decoder)))
        self.num_kernels = float(c.num_kernels)
        self.min_gain = float(c.min_gain)
        self.divide = c.psf_gain == "divide"
        self.eval()

    def gain(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """The reblur gain at the resolution of F_B, a from Eq. 8 (psf.PSFBlock.reblur): N a, clipped
        to min_gain for psf_gain="divide"."""
        return self._gain(self.disparity(left, right))

    def _gain(self, r: torch.Tensor) -> torch.Tensor:
        a = softmax_channels(self.w_v(self.w_r(r)))
        a = nearest_upsample(a, self.config.disp_block)
        g = a * self.num_kernels
        return g.clamp(min=self.min_gain) if self.divide else g

    def _select(self, skip: torch.Tensor, quarter: torch.Tensor) -> torch.Tensor:
        """selection.BlurSizeSelect with constant kernels: F + W_o(sum_m a_m (F (*) kinv_m) - F)."""
        m = len(self.select_inverse)
        weights = None if self.select_uniform else self.select_head(quarter)
        if weights is not None and self.select_image:
            weights = nearest_upsample(weights, 4)
        acc = -skip
        for i, conv in enumerate(self.select_inverse):
            acc = acc + conv(skip) * (1.0 / m if weights is None else weights[:, i:i + 1])
        return skip + self.select_out(acc)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        r, quarter = self.disparity.with_quarter(left, right)
        if self.select_image:
            feats, skips = self.encoder(left, right, self._select((left + right) * 0.5, quarter))
        else:
            feats, skips = self.encoder(left, right)
        if self.select_out is not None and not self.select_image:
            skips = [skips[0], skips[1], self._select(skips[2], quarter)]
        filtered = self.inverse(self.mix(feats))
        g = self._gain(r)
        deblurred = self.unmix(filtered / g if self.divide else filtered * g)
        sharp = self.decoder(self.srp(feats, deblurred), skips, (left + right) * 0.5)
        return sharp.clamp(0.0, 1.0)

    def reblur(self, sharp: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
        """Eq. 17 with constant forward kernels (only when built with `with_reblur=True`):
        B^ from the sharp image and the gain of the blurry pair (`self.gain(left, right)`)."""
        if self.forward_kernels is None:
            raise RuntimeError("this lowered model was built without the reblur path (with_reblur=False)")
        feats, skips = self.encoder(sharp, sharp)
        blurred = self.unmix(self.forward_kernels(self.mix(feats)) * gain)
        return self.decoder(self.srp(feats, blurred), skips, sharp)


def lower(model: K3DN, with_reblur: bool = False) -> LoweredK3DN:
    """An inference-only, export-ready copy of `model` (which is left untouched)."""
    if not isinstance(model, K3DN):
        raise TypeError(f"lower() takes a k3dn.K3DN, got {type(model).__name__}")
    return LoweredK3DN(model, with_reblur=with_reblur)
