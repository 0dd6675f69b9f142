"""K3DN: disparity-aware kernel estimation for dual-pixel defocus deblurring (Fig. 3 and 5)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import nearest_upsample
from .codec import Decoder, Encoder
from .config import K3DNConfig
from .disparity import DisparityEstimator
from .kernels import KernelQuery, KernelSet
from .padding import crop, pad_to_stride
from .psf import PSFBlock
from .srp import SRPBlock


def validate_pair(left: torch.Tensor, right: torch.Tensor, min_size: int) -> None:
    """Raise ValueError naming the problem if (left, right) is not a valid N x 3 x H x W float pair."""
    for name, t in (("left", left), ("right", right)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 4:
            raise ValueError(f"{name} must be N x 3 x H x W (rank 4), got rank {t.dim()} with shape {tuple(t.shape)}")
        if t.shape[1] != 3:
            raise ValueError(f"{name} must have 3 (RGB) channels, got {t.shape[1]} in shape {tuple(t.shape)}")
        if not t.is_floating_point():
            raise ValueError(f"{name} must be a float tensor with values in [0, 1], got dtype {t.dtype}")
        if min(t.shape[-2:]) < min_size:
            raise ValueError(f"{name} is {t.shape[-2]}x{t.shape[-1]}; K3DN needs H and W >= {min_size}")
    if left.shape != right.shape:
        raise ValueError(f"left and right shapes differ: {tuple(left.shape)} vs {tuple(right.shape)}")
    for name, t in (("left", left), ("right", right)):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} contains NaN or Inf values")


class PairRestorer(nn.Module):
    """A network from a DP pair to a sharp image; `forward` wraps `_deblur` with input validation,
    padding to the network stride and cropping back, and clamps the output to [0, 1]."""

    config: K3DNConfig

    def _deblur(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Deblur a DP pair: N x 3 x H x W float32 in [0, 1] (H, W >= min_size) -> sharp, same shape."""
        if not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            validate_pair(left, right, self.config.min_size)
        stride = self.config.stride
        left_p, size = pad_to_stride(left, stride)
        right_p, _ = pad_to_stride(right, stride)
        sharp, _ = self._deblur(left_p, right_p)
        return crop(sharp, size).clamp(0.0, 1.0)

    def _check_patch(self, x: torch.Tensor) -> None:
        stride = self.config.stride
        if x.shape[-1] % stride or x.shape[-2] % stride:
            raise ValueError(f"training patches must be multiples of {stride}, got {tuple(x.shape[-2:])}")


class K3DN(PairRestorer):
    """The float reference model. `model(left, right) -> sharp`, all N x 3 x H x W in [0, 1]."""

    def __init__(self, config: K3DNConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.encoder = Encoder(c.widths, c.feat_channels, c.enc_blocks)
        self.disparity = DisparityEstimator(c.disp_features, c.disp_channels, c.max_disparity, c.disp_block)
        self.kernels = KernelSet(c.num_kernels, c.kernel_size, c.min_spectrum)
        self.query = KernelQuery(c.num_kernels, c.kernel_size, c.disp_channels)
        self.psf = PSFBlock(c.feat_channels, c.min_gain, c.psf_gain)
        self.srp = SRPBlock(c.feat_channels, c.window, c.ffn_expand)
        self.decoder = Decoder(c.widths, c.feat_channels, c.dec_blocks)

    def input_spec(self) -> dict:
        """The I/O contract every runner (torch, ONNX, ExecuTorch, LiteRT, CoreML) follows."""
        c = self.config
        tensor = {"shape": ["N", 3, "H", "W"], "dtype": "float32", "range": [0.0, 1.0], "layout": "NCHW, RGB"}
        return {
            "inputs": {"left": dict(tensor), "right": dict(tensor)},
            "outputs": {"sharp": dict(tensor)},
            "min_size": c.min_size,
            "stride": c.stride,
            "notes": "any H, W >= min_size; inputs are reflect-padded to a multiple of stride and cropped back",
            "variant": c.name,
        }

    # --- the pieces shared by the deblur and reblur paths -------------------------------------
    def kernel_weights(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """a (Eq. 8), nearest-upsampled from the disparity grid to F_B: B x N x H/8 x W/8."""
        a = self.query(self.disparity(left, right), self.kernels.forward_kernels())
        return nearest_upsample(a, self.config.disp_block)

    def _deblur(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats, skips = self.encoder(left, right)
        a = self.kernel_weights(left, right)
        deblurred = self.psf.deblur(feats, self.kernels.inverse_kernels(), a)
        sharp = self.decoder(self.srp(feats, deblurred), skips, (left + right) / 2)
        return sharp, a

    def _reblur(self, sharp: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Fig. 5 / Eq. 17: encode I as both views, blur its features with the same kernels and
        weights, then the same SRP and decoder -> B^."""
        feats, skips = self.encoder(sharp, sharp)
        blurred = self.psf.reblur(feats, self.kernels.forward_kernels(), a)
        return self.decoder(self.srp(feats, blurred), skips, sharp)

    def deblur_and_reblur(
        self, left: torch.Tensor, right: torch.Tensor, sharp: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Training pass (Eq. 18): (I^, B^) unclamped. All inputs N x 3 x H x W, H and W multiples
        of the network stride (training patches). sharp=None skips the reblur branch (B^ = None): a step
        without L_reb costs one pass instead of two."""
        self._check_patch(left)
        restored, a = self._deblur(left, right)
        return restored, None if sharp is None else self._reblur(sharp, a)

    def extra_repr(self) -> str:
        return f"variant={self.config.name}"


def create(name: str = "tiny", **overrides) -> K3DN:
    """Build a K3DN variant by name ('tiny', 'lightweight', 'large') with config overrides."""
    return K3DN(K3DNConfig.from_name(name, **overrides))

