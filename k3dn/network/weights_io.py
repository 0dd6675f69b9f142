"""Weights on disk: safetensors only, so loading never runs code.

A weights file carries its model config as JSON in the safetensors metadata, so a file is
self-describing and a mismatch (wrong variant, wrong architecture) is caught with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(state, tmp, metadata=meta)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; weights are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a safetensors file (its header only), with clear errors for missing/corrupt files."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"weights file {path} is corrupt or not a safetensors file: {exc}") from exc


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(state_dict, metadata) of a safetensors file, with clear errors for missing/corrupt files."""
    meta = read_metadata(path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"weights file {path} is corrupt or not a safetensors file: {exc}") from exc
    return state, meta


def trained_ablation(meta: dict[str, str]) -> list[str]:
    """The parts a weights file was trained without (`k3dn train --ablate`), from its metadata."""
    return [p for p in meta.get("ablate", "").split(",") if p]


def load_weights(path: str | Path, model: PairRestorer | None = None, allow_ablated: bool = False) -> PairRestorer:
    """Load a model from a safetensors file, in eval mode. The architecture (K3DN or the U-Net
    baseline) and config come from the file's metadata unless `model` is given.

    A file trained with parts switched off (`k3dn train --ablate`) computes its function only with the same
    parts off (k3dn.network.ablate), so it is refused unless `allow_ablated` (k3dn eval applies the ablation)."""
    state, meta = read_weights(path)
    parts = trained_ablation(meta)
    if parts and not allow_ablated:
        raise WeightsError(f"{path} was trained with {', '.join(parts)} switched off (k3dn train --ablate): a study "
                           "model that only works with the same ablation; score it with k3dn eval, which applies it")
    if model is None:
        if "config" not in meta:
            raise WeightsError(f"{path} has no k3dn config in its metadata; pass the model to load into")
        cfg = json.loads(meta["config"])
        cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
        cfg.setdefault("psf_gain", LEGACY_PSF_GAIN)
        config = K3DNConfig(**cfg)
        model = UNetBaseline(config) if meta.get("arch") == "unet" else K3DN(config)
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
