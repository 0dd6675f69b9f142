"""Model configuration: one frozen dataclass and the paper's three named variants."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

PAPER_FIGURES: dict[str, dict[str, float]] = {
    # Table 1 of the paper: parameters (M) and "flops" (G, multiply-accumulates at 1120x1680).
    "tiny": {"params_m": 3.00, "gmacs": 571.0},
    "lightweight": {"params_m": 5.00, "gmacs": 1033.0},
    "large": {"params_m": 15.90, "gmacs": 3352.0},
}


PSF_GAINS = ("multiply", "divide")  # K3DNConfig.psf_gain, see psf.py
SELECT_MODES = ("learned", "oracle", "uniform")  # K3DNConfig.select_mode, see selection.py

# Largest values a config read from a file may ask for: twice the Large variant's and beyond anything trained here.
# A weights file's config is checked against these before any model is built, so a tiny file cannot make the
# loader allocate gigabytes (a 4096-channel config builds a 4.8-billion-parameter model).
BOUNDS: dict[str, tuple[float, float]] = {
    "widths": (1, 512), "feat_channels": (1, 512), "enc_blocks": (0, 8), "dec_blocks": (0, 8),
    "num_kernels": (1, 512), "kernel_size": (1, 31), "disp_channels": (1, 512), "disp_features": (1, 256),
    "max_disparity": (0, 32), "disp_block": (1, 8), "window": (1, 31), "ffn_expand": (1, 8),
    "min_gain": (1e-6, 1e3), "min_spectrum": (1e-6, 1e3),
    "select_radii": (0, 1000), "select_kernel_size": (1, 63), "select_hidden": (1, 512), "select_scale": (1, 4),
}
_TUPLE_LENGTHS = {"widths": 3, "enc_blocks": 4, "dec_blocks": 3}


@dataclass(frozen=True)
class K3DNConfig:
    """Architecture hyper-parameters of K3DN.

    Attributes:
        name: variant name.
        widths: encoder/decoder channels at 1/1, 1/2, 1/4 resolution.
        feat_channels: C_f, channels of the 1/8-resolution feature map F_B (also the PSF space).
        enc_blocks: residual blocks per encoder level (1/1, 1/2, 1/4, 1/8).
        dec_blocks: residual blocks per decoder level (1/4, 1/2, 1/1).
        num_kernels: N, size of the trainable kernel set (the paper uses 128). Must equal
            feat_channels: the sparse kernel bank puts kernel j in channel j of the PSF space.
        kernel_size: H_k = W_k of each kernel (odd).
        disp_channels: C_d, channels of the disparity feature map R.
        disp_features: channels of the shared per-view feature extractor of the disparity estimator.
        max_disparity: cost-volume shifts are -max..+max at 1/4 resolution (signed, Sec. 3.1).
        disp_block: each r^i covers a disp_block x disp_block block of F_B.
        window: s, the SRP local attention window (s x s).
        ffn_expand: hidden expansion of the SRP feed-forward network.
        min_gain: lower clip of N*a in the PSF block, so the inverse gain 1/(N*a) stays <= 1/min_gain.
        min_spectrum: lower bound of |F(K)|, so inverse kernels stay bounded.
        psf_gain: how the kernel query's weights enter the deblur (psf.py): "multiply" (N a, the
            default) or "divide" (1 / clip(N a, min_gain), the first shipped weights; files without
            this field load as "divide").
        select_radii: full-resolution blur radii (px) of the per-pixel blur-size hypotheses of
            selection.py (Eq. 7 with soft layers, at 1/4 resolution); () = no selection block.
        select_kernel_size: P of the selection block's inverse kernels (odd).
        select_hidden: channels of the selection head.
        select_mode: where the selection weights come from: "learned" (the head; what ships), "oracle"
            (the simulator's true blur radius; design studies) or "uniform" (1/M; the ablation).
        select_scale: where the selection works: 4 = on the encoder's 1/4-resolution skip, 1 = on the input
            image B at full resolution, its output fed to the encoder as 3 more input channels.
    """

    name: str = "tiny"
    widths: tuple[int, int, int] = (32, 64, 128)
    feat_channels: int = 128
    enc_blocks: tuple[int, int, int, int] = (1, 2, 2, 2)
    dec_blocks: tuple[int, int, int] = (2, 2, 2)
    num_kernels: int = 128
    kernel_size: int = 9
    disp_channels: int = 64
    disp_features: int = 32
    max_disparity: int = 4
    disp_block: int = 2
    window: int = 9
    ffn_expand: int = 2
    min_gain: float = 0.125
    min_spectrum: float = 0.05
    psf_gain: str = "multiply"
    select_radii: tuple[float, ...] = ()
    select_kernel_size: int = 9
    select_hidden: int = 32
    select_mode: str = "learned"
    select_scale: int = 4

    def __post_init__(self) -> None:
        if self.num_kernels != self.feat_channels:
            raise ValueError(f"num_kernels ({self.num_kernels}) must equal feat_channels ({self.feat_channels})")
        if self.kernel_size % 2 != 1 or self.window % 2 != 1:
            raise ValueError("kernel_size and window must be odd")
        if self.psf_gain not in PSF_GAINS:
            raise ValueError(f"psf_gain must be one of {PSF_GAINS}, got {self.psf_gain!r}")
        if self.disp_block < 1:
            raise ValueError("disp_block must be >= 1")
        if self.select_radii and (len(self.select_radii) < 2 or list(self.select_radii) != sorted(self.select_radii)
                                  or self.select_radii[0] < 0):
            raise ValueError(f"select_radii must be >= 2 increasing radii >= 0, got {self.select_radii}")
        if self.select_kernel_size % 2 != 1:
            raise ValueError("select_kernel_size must be odd")
        if self.select_scale not in (1, 4):
            raise ValueError(f"select_scale must be 1 (image) or 4 (1/4-resolution features), got {self.select_scale}")
        if self.select_mode not in SELECT_MODES:
            raise ValueError(f"select_mode must be one of {SELECT_MODES}, got {self.select_mode!r}")

    def identity(self) -> dict:
        """The fields that define the function, as a dict: the selection block's settings only when the block
        exists, so the hash of a model without it (weights_io.state_sha256) is what it was before they existed."""
        out = asdict(self)
        if not self.select_radii:
            for key in ("select_radii", "select_kernel_size", "select_hidden", "select_mode", "select_scale"):
                out.pop(key)
        return out

    @property
    def stride(self) -> int:
        """Input sizes must be multiples of this (1/8 features, pooled by disp_block)."""
        return 8 * self.disp_block

    @property
    def min_size(self) -> int:
        """Smallest accepted input height/width."""
        return 2 * self.stride

    @classmethod
    def from_dict(cls, data: object, legacy_psf_gain: str | None = None) -> K3DNConfig:
        """A config from untrusted JSON data (a weights file's metadata): every key known, every value of its
        field's type and within BOUNDS. Raises ValueError naming the first problem.
        `legacy_psf_gain`: the psf_gain of files written before the field existed."""
        if not isinstance(data, dict):
            raise ValueError(f"config must be a JSON object, got {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"config has unknown keys {unknown}")
        values: dict[str, object] = {}
        for key, value in data.items():
            values[key] = _checked(key, value, type(getattr(VARIANTS["tiny"], key)))
        if legacy_psf_gain is not None:
            values.setdefault("psf_gain", legacy_psf_gain)
        return cls(**values)

    @classmethod
    def from_name(cls, name: str, **overrides) -> K3DNConfig:
        if name not in VARIANTS:
            raise ValueError(f"unknown K3DN variant {name!r}; choose one of {sorted(VARIANTS)}")
        return replace(VARIANTS[name], **overrides)


VARIANTS: dict[str, K3DNConfig] = {
    "tiny": K3DNConfig(),
    "lightweight": K3DNConfig(
        name="lightweight", widths=(32, 64, 160), feat_channels=160, num_kernels=160,
        enc_blocks=(2, 2, 3, 2), dec_blocks=(3, 2, 2), disp_channels=96,
    ),
    "large": K3DNConfig(
        name="large", widths=(48, 96, 256), feat_channels=256, num_kernels=256,
        enc_blocks=(2, 3, 4, 3), dec_blocks=(3, 3, 2), disp_channels=128, disp_features=48,
    ),
}


def _checked(key: str, value: object, kind: type) -> object:
    """`value` as field `key` of type `kind` (int, float, str or a tuple of ints), within BOUNDS; else ValueError."""
    if kind is tuple and key not in _TUPLE_LENGTHS:  # a variable-length list of numbers (select_radii)
        if not (isinstance(value, list | tuple) and len(value) <= 32):
            raise ValueError(f"config {key} must be a list of at most 32 numbers, got {value!r}")
        return tuple(_checked(key, v, float) for v in value)
    if kind is tuple:
        n = _TUPLE_LENGTHS[key]
        if not (isinstance(value, list | tuple) and len(value) == n):
            raise ValueError(f"config {key} must be a list of {n} integers, got {value!r}")
        return tuple(_checked(key, v, int) for v in value)
    if kind is int and type(value) is not int:
        raise ValueError(f"config {key} must be an integer, got {value!r}")
    if kind is float and type(value) not in (int, float):
        raise ValueError(f"config {key} must be a number, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ValueError(f"config {key} must be a string, got {value!r}")
    if key in BOUNDS:
        lo, hi = BOUNDS[key]
        if not lo <= value <= hi:  # also false for NaN
            raise ValueError(f"config {key} = {value!r} is outside [{lo:g}, {hi:g}]")
    return float(value) if kind is float else value
