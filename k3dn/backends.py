"""The one backend table: every command and module that names a backend reads it from here.

A backend has two names: the one the CLI, exporters, artifacts and numerics use (`onnx`, `tflite`), and the
name of the runtime that runs its artifacts (`onnxruntime`, `litert`), which is what a runner reports as its
`name`. Both are listed here, once. The module imports nothing, so every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backend:
    """name: CLI/export name; runtime: the runner's name; suffix: artifact file suffix (no dot);
    runtime_module: the module that runs artifacts (its absence skips the backend); runner: the class in
    k3dn.camera.runners; precisions: what its artifacts can store (int8 recipes in k3dn.calibration)."""

    name: str
    title: str
    runtime: str
    suffix: str
    runtime_module: str
    runner: str
    precisions: tuple[str, ...]


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("executorch", "ExecuTorch XNNPACK", "executorch", "pte", "executorch", "ExecuTorchRunner",
            ("fp32", "int8")),
    Backend("tflite", "LiteRT", "litert", "tflite", "ai_edge_litert", "LiteRTRunner",
            ("fp32", "fp16", "int8", "int8-dynamic")),
    Backend("coreml", "CoreML", "coreml", "mlpackage", "coremltools", "CoreMLRunner", ("fp16", "w8a16")),
    Backend("onnx", "ONNX Runtime", "onnxruntime", "onnx", "onnxruntime", "OnnxRuntimeRunner", ("fp32", "int8")),
)}
# PyTorch runs the weights file itself: not an export target, but a runner and a `k3dn deblur --backend`.
TORCH = Backend("torch", "PyTorch", "torch", "safetensors", "torch", "TorchRunner", ("fp32",))
EXPORT_BACKENDS: tuple[str, ...] = tuple(BACKENDS)
# `k3dn deblur --backend auto`: per precision, the runtimes to try, fastest first (README results table, 1120x1680
# on 2 x86 cores: fp32 ONNX Runtime 5880 ms, ExecuTorch 6191, LiteRT 6853 - ExecuTorch stays first for its lower
# peak memory and the phone path; int8 ExecuTorch 1854, LiteRT 2020, ONNX Runtime 2535). The first installed wins.
AUTO_ORDER: dict[str, tuple[str, ...]] = {
    "fp32": ("executorch", "tflite", "onnx"),
    "int8": ("executorch", "tflite", "onnx"),
}


def by_suffix(suffix: str) -> Backend | None:
    """The backend whose artifacts end in `suffix` ('.onnx' or 'onnx'), torch for '.safetensors', else None."""
    suffix = suffix.lower().lstrip(".")
    return next((b for b in (*BACKENDS.values(), TORCH) if b.suffix == suffix), None)
