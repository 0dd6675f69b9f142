"""Which model gets exported: explicit safetensors weights, the shipped weights, or a seeded random model."""

from __future__ import annotations

import json
from pathlib import Path

import torch

import k3dn
from k3dn.config import K3DNConfig
from k3dn.model import K3DN
from k3dn.weights_io import state_sha256

from .common import path_sha256


def random_model(variant: str = "tiny", seed: int = 0, **overrides) -> K3DN:
    """A seeded random K3DN (config `variant` with `overrides`) in eval mode whose every path carries signal.

    The decoder's last conv is zero-initialized (the untrained network is the identity on the mean
    view), which would make parity trivially exact; layers whose parameters are all zero are re-drawn
    with their default initializer, under the same seed.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = k3dn.create(variant, **overrides)
        for module in model.modules():
            own = list(module.parameters(recurse=False))
            if own and hasattr(module, "reset_parameters") and all(not p.detach().any() for p in own):
                module.reset_parameters()
    return model.eval()


def shipped_weights(variant: str) -> Path | None:
    """k3dn/weights/k3dn_<variant>.safetensors if the package ships it."""
    path = Path(k3dn.__file__).resolve().parent / "weights" / f"k3dn_{variant}.safetensors"
    return path if path.is_file() else None


def load_model(variant: str = "tiny", weights: str | Path | None = None) -> tuple[K3DN, dict]:
    """(model in eval mode, weights description for the sidecar).

    weights: a safetensors state dict (its metadata 'config', if any, gives the architecture), else the
    shipped weights of `variant`, else `random_model(variant, 0)` ("random-seed-0").
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(weights) if weights else shipped_weights(variant)
    if path is None:
        model = random_model(variant, 0)
        return model, {"source": "random-seed-0", "state_sha256": state_sha256(model)}
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata() or {})
    if "config" in meta:
        cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(meta["config"]).items()}
        model = K3DN(K3DNConfig(**cfg))
    else:
        model = k3dn.create(variant)
    try:
        model.load_state_dict(load_file(str(path)), strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path} does not match the {model.config.name} model: {str(exc).splitlines()[0]}") from exc
    model.eval()
    source = f"shipped:k3dn/weights/{path.name}" if weights is None else str(path)
    return model, {"source": source, "file_sha256": path_sha256(path), "state_sha256": state_sha256(model)}
