"""What `k3dn bench` runs: the rows (backend x precision), how each is opened, and the artifacts they need.

Artifacts come from `k3dn.artifacts.cached_artifact`, the cache `k3dn deblur --backend` uses too: made with the
export and calibration packages' own pipelines (the same audits and parity checks as `k3dn export` /
`k3dn quantize`), checked against the weights' hash on every reuse, so a rerun only times. Int8 artifacts use
the layers kept in float that `calibration/numerics.json` records for these weights (the mix that holds the
0.2 dB budget), so the speed measured is the speed of the artifact whose quality is published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from k3dn.errors import ArtifactError

# (key, backend, precision, runtime label). Torch rows need no artifact.
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("torch-eager", "torch", "fp32", "PyTorch eager"),
    ("torch-fast", "torch", "fp32", "PyTorch default (channels_last)"),
    ("torch-lowered", "torch", "fp32", "PyTorch lowered (export.lower)"),
    ("onnx-fp32", "onnx", "fp32", "ONNX Runtime"),
    ("executorch-fp32", "executorch", "fp32", "ExecuTorch XNNPACK"),
    ("tflite-fp32", "tflite", "fp32", "LiteRT"),
    ("tflite-int8-dynamic", "tflite", "int8-dynamic", "LiteRT"),
    ("onnx-int8", "onnx", "int8", "ONNX Runtime (QDQ)"),
    ("executorch-int8", "executorch", "int8", "ExecuTorch XNNPACK"),
    ("tflite-int8", "tflite", "int8", "LiteRT"),
    ("coreml-fp16", "coreml", "fp16", "CoreML"),
    ("coreml-w8a16", "coreml", "w8a16", "CoreML"),
)
OPTIONAL_ROWS = ("torch-compile",)  # measured on request (--rows torch-compile): compile time is minutes
ROW_LABELS = {key: runtime for key, _, _, runtime in ROWS} | {"torch-compile": "PyTorch torch.compile"}
REFERENCE_ROW = "torch-eager"


def row_info(key: str) -> tuple[str, str]:
    """(backend, precision) of a row key."""
    if key == "torch-compile":
        return "torch", "fp32"
    for k, backend, precision, _ in ROWS:
        if k == key:
            return backend, precision
    raise KeyError(key)


@dataclass
class ArtifactSet:
    """The artifact of each row at one size: from `folder` (a `k3dn export`/`quantize` output) when given and
    present there, else from the shared artifact cache under `cache` (built there if missing and `build`)."""

    cache: Path | None
    variant: str
    size: tuple[int, int]
    weights: str | None = None
    calib_n: int | None = None  # calibration pairs (None: k3dn.artifacts.CALIB_PAIRS)
    progress: Callable[[str], None] = print
    folder: Path | None = None
    _loaded: tuple | None = None  # (model, info) of the weights, loaded on the first cache lookup

    def get(self, backend: str, precision: str, build: bool = True) -> Path:
        """The artifact's path; raises RuntimeError saying why it is not there."""
        from k3dn.artifacts import CALIB_PAIRS, SUFFIX, cached_artifact
        from k3dn.export.common import artifact_name
        from k3dn.export.weights import model_and_source

        if self.folder is not None:
            given = self.folder / artifact_name(self.variant, self.size, precision, SUFFIX[backend])
            if given.exists():
                return given
        if self._loaded is None:
            self._loaded = model_and_source(self.variant, self.weights)
        try:
            return cached_artifact(backend, precision, self.size, self.weights, progress=self.progress,
                                   cache_dir=self.cache, calib_pairs=self.calib_n or CALIB_PAIRS, build=build,
                                   variant=self.variant, loaded=self._loaded)
        except ArtifactError as exc:
            raise RuntimeError(str(exc)) from exc


def open_spec(spec: dict) -> tuple[object, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """(runner, call) for a measurement spec: {"row": key, "size": [H, W], "threads": n, "path" | "weights"}.

    Torch rows: 'torch-eager' (the plain NCHW eager model), 'torch-fast' (TorchRunner's default),
    'torch-compile' (torch.compile of the default), 'torch-lowered' (export.lower's module, padded sizes).
    Others open the artifact at spec["path"] with k3dn.camera.runners.open_runner.
    """
    from k3dn.camera.runners import TorchRunner, open_runner

    threads = spec.get("threads")
    row = spec["row"]
    if spec.get("probe"):
        from .probes import open_probe

        return open_probe(spec)
    if not row.startswith("torch"):
        runner = open_runner(spec["path"], threads=threads)
        return runner, runner
    import torch

    from k3dn.export.weights import model_and_source

    model, _ = model_and_source(spec.get("variant", "tiny"), spec.get("weights"))
    if row == "torch-lowered":
        from k3dn.export.lower import lower

        runner = TorchRunner(lower(model), name="torch-lowered", threads=threads)
    elif row == "torch-eager":
        runner = TorchRunner(model, name="torch-eager", threads=threads, fast=False)
    else:
        runner = TorchRunner(model, threads=threads)
        if row == "torch-compile":
            runner.module = torch.compile(runner.module)
    return runner, runner
