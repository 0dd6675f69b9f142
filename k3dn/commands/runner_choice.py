"""Which runner `k3dn deblur` uses: `--model PATH`, `--backend torch`, a cached export, or `auto`.

`auto` takes the fastest exact path available: ExecuTorch (XNNPACK) fp32, then LiteRT fp32, then ONNX Runtime
fp32, as an artifact of the tile size exported once into the user cache (k3dn.artifacts), and PyTorch when the
frame fits in one tile (no export is worth it then) or no export toolchain is installed. int8 is never
chosen by `auto`: it is faster but not exact (`--precision int8`, a stated 0.2 dB budget).
"""

from __future__ import annotations

import importlib.util
import sys

from ..backends import AUTO_ORDER, BACKENDS
from ..errors import UserError

DEFAULT_TILE = 512


def _check_weights(runner, weights: str) -> None:
    """An artifact run with --weights must have been exported from those weights (its sidecar says)."""
    from ..network.weights_io import load_model, state_sha256

    want = state_sha256(load_model(weights))
    have = runner.sidecar.get("weights", {}).get("state_sha256")
    if have is None:
        raise UserError(f"--model {runner.name} artifact has no sidecar naming its weights; cannot check --weights")
    if have != want:
        raise UserError(f"--model was exported from weights {have[:12]}…, not from --weights ({want[:12]}…)")


def open_cli_runner(model: str | None, weights: str | None, backend: str, precision: str, threads: int | None,
                    tile: int | None, frame: tuple[int, int]):
    """The runner for `k3dn deblur`'s --model, --weights, --backend, --precision, --threads and --tile; `frame`
    (H, W) lets `auto` skip exporting for one-tile frames."""
    from ..camera.runners import TorchRunner, open_runner
    from ..errors import ArtifactError, PipelineError, RuntimeUnavailable

    if model:
        try:
            runner = open_runner(model, threads=threads)
        except (FileNotFoundError, ArtifactError, RuntimeUnavailable, PipelineError) as exc:
            raise UserError(f"--model: {exc}") from None
        if weights and runner.name != "torch":
            _check_weights(runner, weights)
        return runner
    tile = tile or DEFAULT_TILE
    if backend == "auto":
        if precision != "fp32":
            raise UserError("--backend auto runs fp32 only; name a backend for --precision int8")
        # A frame narrower than a tile in either direction would fill every fixed-size tile mostly with
        # reflected padding (a 32 x 20000 strip: ~50 tiles of 512 x 512, 94 % padding); torch tiles to the frame.
        fits = min(frame) < tile or (frame[0] <= tile and frame[1] <= tile)
        installed = (b for b in AUTO_ORDER if importlib.util.find_spec(BACKENDS[b].runtime_module))
        backend = "torch" if fits else next(installed, "torch")
    if backend == "torch":
        if precision != "fp32":
            raise UserError("--backend torch runs fp32; --precision int8 needs an exported backend")
        from ..network.weights_io import load_model

        return TorchRunner(load_model(weights), threads=threads)
    if tile % 16:
        raise UserError(f"--tile {tile} must be a multiple of 16 for an exported artifact")
    from ..camera.runners import unavailable

    reason = unavailable(backend)
    if reason:  # before minutes of export: e.g. CoreML off macOS, a Vulkan .pte without a Vulkan runtime
        raise UserError(f"--backend {backend} cannot run here: {reason}")
    try:
        from k3dn.artifacts import cached_artifact
    except ImportError as exc:
        raise UserError(f"--backend {backend} needs the export toolchains: pip install -e '.[export]' ({exc})") from exc
    try:
        path = cached_artifact(backend, precision, (tile, tile), weights,
                               progress=lambda m: print(f"k3dn deblur: {m}", file=sys.stderr))
        return open_runner(path, threads=threads, verify=False)  # cached_artifact just checked its sha256
    except OSError as exc:  # e.g. a read-only cache folder
        raise UserError(f"--backend {backend}: cannot write the artifact cache ({exc.strerror or exc}: "
                        f"{exc.filename or ''}); set K3DN_CACHE to a writable folder") from None
    except (ArtifactError, RuntimeUnavailable, ValueError) as exc:
        raise UserError(f"--backend {backend} --precision {precision}: {exc}") from exc
