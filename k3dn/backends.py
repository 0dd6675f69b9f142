"""The one backend table: every command and module that names a backend reads it from here.

A backend has two names: the one the CLI, exporters, artifacts and numerics use (`onnx`, `tflite`), and the
name of the runtime that runs its artifacts (`onnxruntime`, `litert`), which is what a runner reports as its
`name`. Both are listed here, once. The module imports nothing, so every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backend:
    """name: CLI/export name; runtime: the runner's name; suffix: artifact file suffix (no leading dot; the
    ExecuTorch GPU/NPU delegates use a compound one, `vulkan.pte`, so their files never take an XNNPACK .pte's
    name); runtime_module: the module that runs artifacts (its absence skips the backend); runner: the class in
    k3dn.camera.runners; precisions: what its artifacts can store (int8 recipes in k3dn.calibration);
    delegate: for an ExecuTorch program, the backend id the runtime must have registered to run it."""

    name: str
    title: str
    runtime: str
    suffix: str
    runtime_module: str
    runner: str
    precisions: tuple[str, ...]
    delegate: str = ""

    @property
    def module(self) -> str:
        """The module name of its exporter in k3dn.export (and its recipes in k3dn.calibration)."""
        return self.name.replace("-", "_")


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("executorch", "ExecuTorch XNNPACK", "executorch", "pte", "executorch", "ExecuTorchRunner",
            ("fp32", "int8"), "XnnpackBackend"),
    Backend("tflite", "LiteRT", "litert", "tflite", "ai_edge_litert", "LiteRTRunner",
            ("fp32", "fp16", "int8", "int8-dynamic")),
    Backend("coreml", "CoreML", "coreml", "mlpackage", "coremltools", "CoreMLRunner", ("fp16", "w8a16")),
    Backend("onnx", "ONNX Runtime", "onnxruntime", "onnx", "onnxruntime", "OnnxRuntimeRunner", ("fp32", "int8")),
    # GPU and NPU delegates of ExecuTorch: exported and audited here, run only where the runtime links them
    # (an Android GPU build of ExecuTorch; CoreML on Apple devices). The pip runtime on Linux has neither.
    Backend("executorch-vulkan", "ExecuTorch Vulkan (GPU)", "executorch-vulkan", "vulkan.pte", "executorch",
            "ExecuTorchRunner", ("fp32", "fp16"), "VulkanBackend"),
    Backend("executorch-coreml", "ExecuTorch CoreML delegate", "executorch-coreml", "coreml.pte", "executorch",
            "ExecuTorchRunner", ("fp16",), "CoreMLBackend"),
)}
# PyTorch runs the weights file itself: not an export target, but a runner and a `k3dn deblur --backend`.
TORCH = Backend("torch", "PyTorch", "torch", "safetensors", "torch", "TorchRunner", ("fp32",))
EXPORT_BACKENDS: tuple[str, ...] = tuple(BACKENDS)
# Backends with an int8 (or w8a16) recipe: `k3dn quantize` takes these.
QUANT_BACKENDS: tuple[str, ...] = tuple(n for n, b in BACKENDS.items() if set(b.precisions) - {"fp32", "fp16"})
# `k3dn deblur --backend auto`: the fastest exact (fp32) runtime installed, in this order.
AUTO_ORDER: tuple[str, ...] = ("executorch", "tflite", "onnx")


def by_suffix(suffix: str) -> Backend | None:
    """The backend whose artifacts end in `suffix` ('.onnx' or 'onnx'), torch for '.safetensors', else None."""
    suffix = suffix.lower().lstrip(".")
    return next((b for b in (*BACKENDS.values(), TORCH) if b.suffix == suffix), None)


def by_name(filename: str) -> Backend | None:
    """The backend whose suffix ends `filename` ('m_fp16.vulkan.pte' -> executorch-vulkan), the longest match."""
    low = filename.lower()
    found = [b for b in (*BACKENDS.values(), TORCH) if low.endswith(f".{b.suffix}")]
    return max(found, key=lambda b: len(b.suffix), default=None)
