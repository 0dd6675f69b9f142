"""Which model gets exported: explicit safetensors weights, the shipped weights, or a seeded random model."""

from __future__ import annotations

from pathlib import Path

import torch

import k3dn
from k3dn.network.model import K3DN
from k3dn.network.weights_io import PRETRAINED_DIR, load_model, state_sha256

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
    path = PRETRAINED_DIR / f"k3dn_{variant}.safetensors"
    return path if path.is_file() else None


def model_and_source(variant: str = "tiny", weights: str | Path | None = None) -> tuple[K3DN, dict]:
    """(model in eval mode, description of its weights for the sidecar: source and hashes).

    The model comes from `k3dn.network.weights_io.load_model`, the one loader (a file without a config loads into
    `variant`'s architecture). Default: the shipped weights of `variant`, else `random_model(variant, 0)`
    ("random-seed-0").
    """
    path = Path(weights) if weights else shipped_weights(variant)
    if path is None:
        model = random_model(variant, 0)
        return model, {"source": "random-seed-0", "state_sha256": state_sha256(model)}
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    model = load_model(path, variant)
    source = f"shipped:k3dn/weights/{path.name}" if weights is None else str(path)
    return model, {"source": source, "file_sha256": path_sha256(path), "state_sha256": state_sha256(model)}
