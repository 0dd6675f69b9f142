"""Weights on disk: safetensors only, so loading never runs code.

A weights file carries its model config as JSON in the safetensors metadata, so a file is
self-describing and a mismatch (wrong variant, wrong architecture) is caught with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .. import files
from ..errors import WeightsError
from .baseline import UNetBaseline
from .config import K3DNConfig
from .model import K3DN, PairRestorer, create

# Package data, found through importlib.resources so an installed k3dn reads its own copy. k3dn installs
# unzipped (safetensors maps the file), so the resource is a file on disk.
PRETRAINED_DIR = Path(str(resources.files("k3dn") / "weights"))
PRETRAINED = {"tiny": PRETRAINED_DIR / "k3dn_tiny.safetensors"}
MODEL_CARD = PRETRAINED_DIR / "MODEL_CARD.md"


LEGACY_PSF_GAIN = "divide"  # files written before K3DNConfig.psf_gain existed ran the divide form


def save_weights(model: torch.nn.Module, path: str | Path, extra: dict | None = None) -> Path:
    """Write model.state_dict() to `path` atomically, with the config (and `extra`) as metadata."""
    path = Path(path)
    meta = {"format": "k3dn-weights-v1", "arch": "unet" if isinstance(model, UNetBaseline) else "k3dn"}
    if isinstance(model, PairRestorer):
        meta["config"] = json.dumps(asdict(model.config))
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.staged(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path


def _header(path: str | Path) -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
    """(metadata, tensor shapes) from a safetensors header, without reading any tensor."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        if os.path.lexists(path) and not path.exists():
            raise WeightsError(f"weights file {path} is a symbolic link that leads nowhere (or in a loop)")
        raise WeightsError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"weights file {path} is corrupt or not a safetensors file: {exc}") from exc
    files.note_input(path)
    return meta, shapes


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a safetensors file (its header only), with clear errors for missing/corrupt files."""
    return _header(path)[0]


def file_config(meta: dict[str, str], path: str | Path) -> K3DNConfig:
    """The K3DNConfig a weights file's metadata records, type- and bounds-checked (K3DNConfig.from_dict)."""
    if "config" not in meta:
        raise WeightsError(f"{path} has no k3dn config in its metadata; pass the model to load into")
    try:
        data = json.loads(meta["config"])
        return K3DNConfig.from_dict(data, legacy_psf_gain=LEGACY_PSF_GAIN)
    except (ValueError, TypeError, RecursionError) as exc:
        raise WeightsError(f"weights file {path}: bad config in its metadata ({str(exc)[:200]})") from None


def _expected_shapes(arch: str, config: K3DNConfig) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of the model `config` builds, from a model on the meta device (no memory)."""
    import torch.nn.utils.parametrizations as parametrizations

    # orthogonal() checks its initial weight with .item(), which meta tensors do not have; the check is moot here.
    real_check = parametrizations._is_orthogonal
    parametrizations._is_orthogonal = lambda q, eps=None: True
    try:
        with torch.device("meta"):
            model = UNetBaseline(config) if arch == "unet" else K3DN(config)
    finally:
        parametrizations._is_orthogonal = real_check
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# Tensors of the first file format that a module's _load_from_state_dict converts on load (same shape, new name):
# KernelSet's sigmoid logits w_re become log_mag.
LEGACY_NAMES = {"w_re": "log_mag"}


def check_shapes(path: str | Path, arch: str, config: K3DNConfig, shapes: dict[str, tuple[int, ...]]) -> None:
    """WeightsError unless the file's tensors are exactly those of the model `config` describes; run before the
    model is built, so a config that does not belong to the tensors costs nothing."""
    try:
        want = _expected_shapes(arch, config)
    except Exception as exc:  # noqa: BLE001 - an unbuildable config is a bad file, whatever the layer raised
        raise WeightsError(f"weights file {path}: its config does not describe a buildable model ({exc})") from None
    shapes = dict(shapes)
    for key in [k for k in shapes if k.rsplit(".", 1)[-1] in LEGACY_NAMES]:  # renamed by the module's load hook
        new = key[: -len(key.rsplit(".", 1)[-1])] + LEGACY_NAMES[key.rsplit(".", 1)[-1]]
        if new not in shapes:
            shapes[new] = shapes.pop(key)
    missing, extra = sorted(set(want) - set(shapes)), sorted(set(shapes) - set(want))
    wrong = [k for k in want if k in shapes and want[k] != shapes[k]]
    if missing or extra or wrong:
        what = (f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}" if extra
                else f"{wrong[0]} is {list(shapes[wrong[0]])}, the config needs {list(want[wrong[0]])}")
        raise WeightsError(f"weights file {path} does not match the {config.name} model its config describes: {what}")


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(state_dict, metadata) of a safetensors file, with clear errors for missing/corrupt files."""
    meta = read_metadata(path)
    try:
        state = load_file(str(path))
        bad = next((k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()), None)
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"weights file {path} is corrupt or not a safetensors file: {exc}") from exc
    if bad is not None:
        raise WeightsError(f"weights file {path}: tensor {bad} holds NaN or Inf values")
    return state, meta


def trained_ablation(meta: dict[str, str]) -> list[str]:
    """The parts a weights file was trained without (`k3dn train --ablate`), from its metadata."""
    return [p for p in meta.get("ablate", "").split(",") if p]


def load_weights(path: str | Path, model: PairRestorer | None = None, allow_ablated: bool = False) -> PairRestorer:
    """Load a model from a safetensors file, in eval mode. The architecture (K3DN or the U-Net
    baseline) and config come from the file's metadata unless `model` is given.

    A file trained with parts switched off (`k3dn train --ablate`) computes its function only with the same
    parts off (k3dn.network.ablate), so it is refused unless `allow_ablated` (k3dn eval applies the ablation)."""
    meta, shapes = _header(path)
    parts = trained_ablation(meta)
    if parts and not allow_ablated:
        raise WeightsError(f"{path} was trained with {', '.join(parts)} switched off (k3dn train --ablate): a study "
                           "model that only works with the same ablation; score it with k3dn eval, which applies it")
    if model is None:
        # Config and tensor shapes are checked from the header before anything is built or read.
        config = file_config(meta, path)
        arch = meta.get("arch", "k3dn")
        if arch not in ("k3dn", "unet"):
            raise WeightsError(f"weights file {path}: unknown arch {arch!r} in its metadata")
        check_shapes(path, arch, config, shapes)
        model = UNetBaseline(config) if arch == "unet" else K3DN(config)
    state, meta = read_weights(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise WeightsError(f"weights file {path} does not match the {model.config.name} model: {first}") from exc
    return model.eval()


def load_model(weights: str | Path | None = None, variant: str = "tiny", allow_ablated: bool = False) -> PairRestorer:
    """The one model loader (every command, export and the docs scripts load through it), in eval mode.

    weights: a safetensors file; its metadata 'config' gives the architecture, a config from before `psf_gain`
    existed runs the legacy "divide" gain, and a file without a config loads into `variant`'s architecture
    (legacy gain). None: the shipped weights of `variant`. Raises WeightsError naming the problem."""
    if weights is None:
        if variant not in PRETRAINED:
            raise WeightsError(f"no shipped weights for {variant!r}; available: {sorted(PRETRAINED)}")
        weights = PRETRAINED[variant]
    bare = "config" not in read_metadata(weights)  # the header only
    into = create(variant, psf_gain=LEGACY_PSF_GAIN) if bare else None
    return load_weights(weights, into, allow_ablated=allow_ablated)


def load_pretrained(name: str = "tiny") -> K3DN:
    """The shipped weights for a variant, in eval mode (`load_model(None, name)`). WeightsError if none ship."""
    return load_model(None, name)


def state_sha256(model: torch.nn.Module) -> str:
    """sha256 over the state dict (sorted names, float32 bytes) and the model's config: identifies the function
    whatever file it was stored in. The config is part of it because one state dict runs differently under
    another config (psf_gain "divide" vs "multiply": the same tensors, outputs 0.04 apart)."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    config = getattr(model, "config", None)
    if config is not None:
        fields = config.identity() if hasattr(config, "identity") else asdict(config)
        h.update(json.dumps(fields, sort_keys=True).encode())
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
