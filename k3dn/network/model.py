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
from .selection import BlurSizeSelect, SelectionHead, oracle_weights, uniform_weights
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
        image_select = bool(c.select_radii) and c.select_scale == 1
        self.encoder = Encoder(c.widths, c.feat_channels, c.enc_blocks, extra_inputs=3 if image_select else 0)
        self.disparity = DisparityEstimator(c.disp_features, c.disp_channels, c.max_disparity, c.disp_block)
        self.kernels = KernelSet(c.num_kernels, c.kernel_size, c.min_spectrum)
        self.query = KernelQuery(c.num_kernels, c.kernel_size, c.disp_channels)
        self.psf = PSFBlock(c.feat_channels, c.min_gain, c.psf_gain)
        self.srp = SRPBlock(c.feat_channels, c.window, c.ffn_expand)
        self.decoder = Decoder(c.widths, c.feat_channels, c.dec_blocks)
        self.select: BlurSizeSelect | None = None
        self.select_head: SelectionHead | None = None
        if c.select_radii:
            channels = 3 if image_select else c.widths[2]
            self.select = BlurSizeSelect(channels, c.select_radii, c.select_kernel_size, c.min_spectrum,
                                         scale=c.select_scale, mix_out=not image_select)
            self.select_head = SelectionHead(self.disparity.quarter_channels, c.select_hidden, len(c.select_radii))

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
        return self._query(self.disparity(left, right))

    def _query(self, r: torch.Tensor) -> torch.Tensor:
        a = self.query(r, self.kernels.forward_kernels())
        return nearest_upsample(a, self.config.disp_block)

    def selection_weights(self, quarter: torch.Tensor, radius: torch.Tensor | None = None) -> torch.Tensor:
        """a_m(x) of selection.py at 1/4 resolution, from config.select_mode: the head ("learned"), the true
        blur radius ("oracle": `radius`, B x 1 x H x W px, required) or 1/M ("uniform")."""
        mode = self.config.select_mode
        if mode == "learned":
            return self.select_head(quarter)
        if mode == "uniform":
            return uniform_weights(quarter, self.select.num_hypotheses)
        if radius is None:
            raise ValueError("select_mode 'oracle' needs the true blur radius (simulated pairs only)")
        return oracle_weights(radius, self.config.select_radii, scale=self.config.select_scale).to(quarter.dtype)

    def _deblur_parts(self, left: torch.Tensor, right: torch.Tensor,
                      radius: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        r, quarter = self.disparity.with_quarter(left, right)
        a = self._query(r)
        select = None
        if self.select is not None and self.config.select_scale == 1:
            select = self.selection_weights(quarter, radius)
            full = select if select.shape[-1] == left.shape[-1] else nearest_upsample(select, 4)
            feats, skips = self.encoder(left, right, self.select((left + right) / 2, full))
        else:
            feats, skips = self.encoder(left, right)
        if self.select is not None and self.config.select_scale == 4:
            select = self.selection_weights(quarter, radius)
            skips = [skips[0], skips[1], self.select(skips[2], select)]
        deblurred = self.psf.deblur(feats, self.kernels.inverse_kernels(), a)
        sharp = self.decoder(self.srp(feats, deblurred), skips, (left + right) / 2)
        return {"sharp": sharp, "a": a, "select": select, "r": r}

    def _deblur(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts = self._deblur_parts(left, right)
        return parts["sharp"], parts["a"]

    def _reblur(self, sharp: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Fig. 5 / Eq. 17: encode I as both views, blur its features with the same kernels and
        weights, then the same SRP and decoder -> B^."""
        feats, skips = self.encoder(sharp, sharp)
        blurred = self.psf.reblur(feats, self.kernels.forward_kernels(), a)
        return self.decoder(self.srp(feats, blurred), skips, sharp)

    def train_outputs(self, left: torch.Tensor, right: torch.Tensor, sharp: torch.Tensor | None,
                      radius: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        """Training pass (Eq. 18), unclamped: {"restored": I^, "reblurred": B^ or None (sharp=None skips the
        reblur branch), "select": the per-pixel blur-size weights (B x M x H/4 x W/4) or None, "r": the disparity
        features R (B x C_d x H/16 x W/16 in the Tiny config)}. `radius`: the
        simulator's signed blur radius (B x 1 x H x W), needed by select_mode "oracle" only."""
        self._check_patch(left)
        parts = self._deblur_parts(left, right, radius)
        reblurred = None if sharp is None else self._reblur(sharp, parts["a"])
        return {"restored": parts["sharp"], "reblurred": reblurred, "select": parts["select"], "r": parts["r"]}

    def deblur_and_reblur(
        self, left: torch.Tensor, right: torch.Tensor, sharp: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Training pass (Eq. 18): (I^, B^) unclamped. All inputs N x 3 x H x W, H and W multiples
        of the network stride (training patches). sharp=None skips the reblur branch (B^ = None): a step
        without L_reb costs one pass instead of two."""
        out = self.train_outputs(left, right, sharp)
        return out["restored"], out["reblurred"]

    def extra_repr(self) -> str:
        return f"variant={self.config.name}"


def create(name: str = "tiny", **overrides) -> K3DN:
    """Build a K3DN variant by name ('tiny', 'lightweight', 'large') with config overrides."""
    return K3DN(K3DNConfig.from_name(name, **overrides))

