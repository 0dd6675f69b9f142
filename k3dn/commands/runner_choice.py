"""Which runner `k3dn deblur` uses: `--model PATH`, `--backend torch`, a cached export, or `auto`.

`auto` takes the fastest exact path available: ExecuTorch (XNNPACK) fp32, then LiteRT fp32, then ONNX Runtime
fp32, as an artifact of the tile size exported once into the user cache (k3dn.artifacts), and PyTorch when the
frame fits in one tile (no export is worth it then) or no export toolchain is installed. int8 is never
chosen by `auto`: it is faster but not exact (`--precision int8`, a stated 0.2 dB budget).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from ..cli import UserError

AUTO_ORDER = (("executorch", "executorch"), ("tflite", "ai_edge_litert"), ("onnx", "onnxruntime"))
DEFAULT_TILE = 512


def load_model(weights: str | None, device: str = "cpu", allow_ablated: bool = False):
    """The K3DN in `weights` (default: the shipped Tiny) on `device`; UserError if it cannot be loaded.
    `allow_ablated`: accept a file trained with `k3dn train --ablate` (weights_io.load_weights)."""
    import torch

    from ..network.weights_io import WeightsError, load_pretrained, load_weights

    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda requested but no CUDA device is available")
    try:
        model = load_weights(weights, allow_ablated=allow_ablated) if weights else load_pretrained("tiny")
    except WeightsError as exc:
        raise UserError(str(exc)) from exc
    return model.to(device)


def _check_weights(runner, weights: str) -> None:
    """An artifact run with --weights must have been exported from those weights (its sidecar says)."""
    from ..network.weights_io import state_sha256

    want = state_sha256(load_model(weights))
    have = runner.sidecar.get("weights", {}).get("state_sha256")
    if have is None:
        raise UserError(f"--model {runner.name} artifact has no sidecar naming its weights; cannot check --weights")
    if have != want:
        raise UserError(f"--model was exported from weights {have[:12]}…, not from --weights ({want[:12]}…)")


def open_cli_runner(args: argparse.Namespace, frame: tuple[int, int]):
    """The runner for these CLI arguments; `frame` (H, W) lets `auto` skip exporting for one-tile frames."""
    from ..camera.runners import TorchRunner, open_runner
    from ..errors import ArtifactError, RuntimeUnavailable

    if args.model:
        try:
            runner = open_runner(args.model, threads=args.threads)
        except FileNotFoundError as exc:
            raise UserError(f"--model: {exc}") from exc
        except (ArtifactError, RuntimeUnavailable) as exc:
            raise UserError(f"--model: {exc}") from exc
        if args.weights and runner.name != "torch":
            _check_weights(runner, args.weights)
        return runner
    tile = args.tile or DEFAULT_TILE
    backend = args.backend
    if backend == "auto":
        if args.precision != "fp32":
            raise UserError("--backend auto runs fp32 only; name a backend for --precision int8")
        fits = frame[0] <= tile and frame[1] <= tile
        backend = "torch" if fits else next((b for b, m in AUTO_ORDER if importlib.util.find_spec(m)), "torch")
    if backend == "torch":
        if args.precision != "fp32":
            raise UserError("--backend torch runs fp32; --precision int8 needs an exported backend")
        return TorchRunner(load_model(args.weights), threads=args.threads)
    if tile % 16:
        raise UserError(f"--tile {tile} must be a multiple of 16 for an exported artifact")
    try:
        from k3dn.artifacts import cached_artifact
    except ImportError as exc:
        raise UserError(f"--backend {backend} needs the export toolchains: pip install -e '.[export]' ({exc})") from exc
    try:
        path = cached_artifact(backend, args.precision, (tile, tile), args.weights,
                               progress=lambda m: print(f"k3dn deblur: {m}", file=sys.stderr))
        return open_runner(path, threads=args.threads, verify=False)  # cached_artifact just checked its sha256
    except (ArtifactError, RuntimeUnavailable, ValueError) as exc:
        raise UserError(f"--backend {backend} --precision {args.precision}: {exc}") from exc
