"""One small interface over every way to run K3DN: eager torch, ONNX Runtime, ExecuTorch, LiteRT, CoreML.

A runner is called as `runner(left, right) -> sharp` on N x 3 x H x W float32 numpy arrays in [0, 1]
(NCHW, RGB), so the pipeline, benchmarks and tests treat all of them alike. Artifacts have a static
shape; a runner checks its inputs against it and raises ValueError naming the mismatch.

    with open_runner("k3dn_tiny_128x128_fp32.onnx") as run:
        sharp = run(left, right)
"""

from __future__ import annotations

import abc
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .common import INPUT_NAMES, OUTPUT_NAME, require


class RuntimeUnavailable(RuntimeError):
    """The runtime for an artifact cannot run on this machine (e.g. CoreML on Linux)."""


class Runner(abc.ABC):
    """`__call__(left, right) -> sharp` on NCHW float32 numpy arrays; `name`; `close()`."""

    name: str = "runner"
    input_shape: tuple[int, ...] | None = None  # static shape of each input, None if any shape works

    def __call__(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        left, right = self._check(left, "left"), self._check(right, "right")
        if left.shape != right.shape:
            raise ValueError(f"{self.name}: left {left.shape} and right {right.shape} differ")
        return np.asarray(self._run(left, right), dtype=np.float32)

    @abc.abstractmethod
    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray: ...

    def _check(self, x: np.ndarray, what: str) -> np.ndarray:
        x = np.ascontiguousarray(x)
        if 0 in x.strides:  # numpy gives new size-1 axes stride 0, which ExecuTorch rejects
            x = x.copy()
        if x.dtype != np.float32:
            raise ValueError(f"{self.name}: {what} must be float32, got {x.dtype}")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{self.name}: {what} must be N x 3 x H x W, got {x.shape}")
        if self.input_shape is not None and tuple(x.shape) != self.input_shape:
            raise ValueError(f"{self.name}: {what} is {x.shape}; this artifact takes exactly {self.input_shape}")
        return x

    def as_torch(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """This runner as the `(left, right) -> sharp` torch-tensor callable that k3dn.pipeline takes."""

        def run(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
            out = self(left.detach().cpu().float().numpy(), right.detach().cpu().float().numpy())
            return torch.from_numpy(out).to(left.device)

        return run

    def close(self) -> None:  # noqa: B027 - optional hook, most runners have nothing to release
        """Release the runtime's resources (idempotent)."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TorchRunner(Runner):
    """Eager PyTorch: a K3DN (any size, pads itself) or a LoweredK3DN (padded sizes)."""

    def __init__(self, module: torch.nn.Module, name: str = "torch") -> None:
        self.module = module.eval()
        self.name = name

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.module(torch.from_numpy(left), torch.from_numpy(right)).numpy()


class OnnxRuntimeRunner(Runner):
    """ONNX Runtime, CPU execution provider."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        require("onnx", ("onnxruntime",))
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.name = "onnxruntime"
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_shape = tuple(self.session.get_inputs()[0].shape)

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], dict(zip(INPUT_NAMES, (left, right), strict=True)))[0]

    def close(self) -> None:
        self.session = None


class ExecuTorchRunner(Runner):
    """executorch.runtime (the portable runtime with the XNNPACK backend linked in)."""

    def __init__(self, path: str | Path) -> None:
        require("executorch", ("executorch",))
        from executorch.runtime import Runtime

        self.name = "executorch"
        self.program = Runtime.get().load_program(Path(path))
        self.method = self.program.load_method("forward")
        meta = self.method.metadata
        self.input_shape = tuple(meta.input_tensor_meta(0).sizes())

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self.method.execute([torch.from_numpy(left), torch.from_numpy(right)])[0].numpy()

    def close(self) -> None:
        self.method = self.program = None


class LiteRTRunner(Runner):
    """The LiteRT interpreter (ai-edge-litert), signature `serving_default`, its default XNNPACK delegate.

    A full-integer model may take and return int8 tensors (the converter folds the input QUANTIZE into the
    signature); the runner then quantizes the float inputs and dequantizes the output with the tensors' own
    scale and zero point, so callers still pass and get float32 in [0, 1].
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        require("tflite", ("ai_edge_litert",))
        from ai_edge_litert.interpreter import Interpreter

        self.name = "litert"
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.signature = self.interpreter.get_signature_runner("serving_default")
        self.inputs = self.signature.get_input_details()
        self.output = self.signature.get_output_details()[OUTPUT_NAME]
        self.input_shape = tuple(int(d) for d in self.inputs[INPUT_NAMES[0]]["shape"])

    @staticmethod
    def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
        if not np.issubdtype(detail["dtype"], np.integer):
            return x
        scale, zero = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        return np.clip(np.rint(x / scale + zero), info.min, info.max).astype(detail["dtype"])

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        feeds = {n: self._quantize(x, self.inputs[n]) for n, x in zip(INPUT_NAMES, (left, right), strict=True)}
        out = self.signature(**feeds)[OUTPUT_NAME]
        if np.issubdtype(out.dtype, np.integer):
            scale, zero = self.output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out

    def close(self) -> None:
        self.signature = self.interpreter = None


class CoreMLRunner(Runner):
    """coremltools MLModel.predict: macOS only (raises RuntimeUnavailable elsewhere)."""

    def __init__(self, path: str | Path, compute_units: str = "ALL") -> None:
        require("coreml", ("coremltools",))
        if platform.system() != "Darwin":
            raise RuntimeUnavailable(f"CoreML predictions need macOS, this is {platform.system()}")
        import coremltools as ct

        self.name = "coreml"
        self.model = ct.models.MLModel(str(path), compute_units=getattr(ct.ComputeUnit, compute_units))
        first = self.model.get_spec().description.input[0]
        self.input_shape = tuple(first.type.multiArrayType.shape)

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self.model.predict(dict(zip(INPUT_NAMES, (left, right), strict=True)))[OUTPUT_NAME]

    def close(self) -> None:
        self.model = None


_BY_SUFFIX = {".onnx": OnnxRuntimeRunner, ".pte": ExecuTorchRunner, ".tflite": LiteRTRunner,
              ".mlpackage": CoreMLRunner}


def open_runner(path: str | Path) -> Runner:
    """The runner for an artifact, chosen by its suffix (.onnx, .pte, .tflite, .mlpackage)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no artifact at {path}")
    try:
        cls = _BY_SUFFIX[path.suffix]
    except KeyError:
        raise ValueError(f"unknown artifact type {path.suffix!r}; expected one of {sorted(_BY_SUFFIX)}") from None
    return cls(path)
