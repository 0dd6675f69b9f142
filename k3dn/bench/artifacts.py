"""What `k3dn bench` runs: the rows (backend x precision), how each is opened, and the artifacts they need.

Artifacts are made with the export and calibration packages' own pipelines (`export.pipeline.export_backend`,
`calibration.pipeline.quantize_recipe`: the same audits and parity checks as `k3dn export` / `k3dn quantize`)
and cached under `<cache>/<weights sha256[:12]>/<H>x<W>/`, so a rerun only times. Int8 artifacts use the
layers kept in float that `calibration/numerics.json` records for the README's quality table (the mix that
holds the 0.2 dB budget), so the speed measured is the speed of the artifact whose quality is published.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
SUFFIX = {"onnx": "onnx", "executorch": "pte", "tflite": "tflite", "coreml": "mlpackage"}
NUMERICS = Path(__file__).resolve().parents[2] / "calibration" / "numerics.json"
DEFAULT_CACHE = Path(os.environ.get("K3DN_CACHE", Path.home() / ".cache" / "k3dn")) / "bench"
REFERENCE_ROW = "torch-eager"


def row_info(key: str) -> tuple[str, str]:
    """(backend, precision) of a row key."""
    if key == "torch-compile":
        return "torch", "fp32"
    for k, backend, precision, _ in ROWS:
        if k == key:
            return backend, precision
    raise KeyError(key)


def mixed_float_layers(backend: str, precision: str) -> list[str] | None:
    """Layers kept in float by the published mix (calibration/numerics.json), None if it has no row."""
    try:
        rows = json.loads(NUMERICS.read_text())["rows"]
    except (OSError, ValueError, KeyError):
        return None
    for row in rows:
        if row.get("backend") == backend and row.get("precision") == precision:
            return list(row.get("float_layers") or [])
    return None


@dataclass
class ArtifactSet:
    """Builds or finds the artifact of each row at one size, in `folder`."""

    folder: Path
    variant: str
    size: tuple[int, int]
    weights: str | None = None
    calib_n: int = 8
    progress: Callable[[str], None] = print

    def path(self, backend: str, precision: str) -> Path:
        from export.common import artifact_name

        return self.folder / artifact_name(self.variant, self.size, precision, SUFFIX[backend])

    def get(self, backend: str, precision: str, build: bool = True) -> Path:
        """The artifact (built now if missing and `build`); raises RuntimeError saying why it is not there."""
        path = self.path(backend, precision)
        if path.exists() and path.with_name(path.name + ".json").exists():
            return path
        if not build:
            raise RuntimeError(f"no {path.name} in {self.folder}")
        self.folder.mkdir(parents=True, exist_ok=True)
        if precision in ("fp32", "fp16"):
            self._export(backend)
        else:
            self._quantize(backend, precision)
        if not path.exists():
            raise RuntimeError(f"building {path.name} failed (see the messages above)")
        return path

    def _model(self):
        from export.weights import load_model

        if not hasattr(self, "_loaded"):
            self._loaded = load_model(self.variant, self.weights)
        return self._loaded

    def _export(self, backend: str) -> None:
        from export.pipeline import export_backend

        model, info = self._model()
        self.progress(f"  building {backend} fp32 {self.size[0]}x{self.size[1]} (k3dn export) ...")
        outcome = export_backend(backend, model, self.size, self.folder, info)
        if outcome.status != "ok":
            raise RuntimeError(f"k3dn export {backend}: {outcome.status}: {outcome.reason}")

    def _quantize(self, backend: str, precision: str) -> None:
        from calibration.calib_set import build_calib_set
        from calibration.pipeline import RECIPES, quantize_recipe
        from calibration.report import float_outputs, score_outputs
        from export.lower import lower
        from k3dn.data import make_eval_set
        from k3dn.data.datasets import EVAL_SEED

        model, info = self._model()
        recipe_cls = next((r for r in RECIPES[backend] if r.precision == precision), None)
        if recipe_cls is None:
            raise RuntimeError(f"no {backend} {precision} recipe in calibration.pipeline")
        self.progress(f"  building {backend} {precision} {self.size[0]}x{self.size[1]} (k3dn quantize, "
                      f"--calib {self.calib_n}, published float layers) ...")
        calib = build_calib_set(self.calib_n, progress=False)
        items = make_eval_set(n=2, size=self.size, seed=EVAL_SEED)
        reference = float_outputs(model, items, progress=False)
        float_scores = score_outputs(reference, items, reference)
        layers = mixed_float_layers(backend, precision)
        if layers is not None and tuple(layers) != tuple(recipe_cls.default_float_layers):
            recipe_cls = type(recipe_cls.__name__, (recipe_cls,), {
                "default_float_layers": tuple(layers),
                "default_float_reason": "the mix calibration/numerics.json publishes (budget 0.2 dB)"})
        outcome = quantize_recipe(recipe_cls, model, lower(model), self.size, self.folder, calib, items, reference,
                                  float_scores, None, info, progress=self.progress, bars=False)
        if outcome.row.status != "ok":
            raise RuntimeError(f"k3dn quantize {backend} {precision}: {outcome.row.status}: {outcome.row.note}")


def cache_folder(cache: Path, variant: str, weights: str | None, size: tuple[int, int]) -> Path:
    """`<cache>/<variant>-<weights file sha256[:12]>/<H>x<W>`."""
    from export.weights import shipped_weights
    from k3dn.runners import path_sha256

    path = Path(weights) if weights else shipped_weights(variant)
    tag = path_sha256(path)[:12] if path and path.is_file() else "random-seed-0"
    return Path(cache) / f"{variant}-{tag}" / f"{size[0]}x{size[1]}"


def open_spec(spec: dict) -> tuple[object, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """(runner, call) for a measurement spec: {"row": key, "size": [H, W], "threads": n, "path" | "weights"}.

    Torch rows: 'torch-eager' (the plain NCHW eager model), 'torch-fast' (TorchRunner's default),
    'torch-compile' (torch.compile of the default), 'torch-lowered' (export.lower's module, padded sizes).
    Others open the artifact at spec["path"] with k3dn.runners.open_runner.
    """
    from k3dn.runners import TorchRunner, open_runner

    threads = spec.get("threads")
    row = spec["row"]
    if spec.get("probe"):
        from .probes import open_probe

        return open_probe(spec)
    if not row.startswith("torch"):
        runner = open_runner(spec["path"], threads=threads)
        return runner, runner
    import torch

    from export.weights import load_model

    model, _ = load_model(spec.get("variant", "tiny"), spec.get("weights"))
    if row == "torch-lowered":
        from export.lower import lower

        runner = TorchRunner(lower(model), name="torch-lowered", threads=threads)
    elif row == "torch-eager":
        runner = TorchRunner(model, name="torch-eager", threads=threads, fast=False)
    else:
        runner = TorchRunner(model, threads=threads)
        if row == "torch-compile":
            runner.module = torch.compile(runner.module)
    return runner, runner
