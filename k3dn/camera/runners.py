"""One small interface over every way to run K3DN: PyTorch, ExecuTorch, LiteRT, ONNX Runtime, CoreML.

A runner is called as `runner(left, right) -> sharp` on N x 3 x H x W float32 numpy arrays in [0, 1]
(NCHW, RGB). Exported artifacts have one static input shape (`input_shape`); the torch runner takes
any size (`input_shape is None`). Each runner checks what it is fed and raises `PipelineError` saying
what it expected, so the camera pipeline, benchmarks and tests treat all of them alike:

    with open_runner("k3dn_tiny_512x512_int8.pte", threads=2) as run:
        sharp = run(left, right)

This module is the inference side: it imports no training, data or export code. `open_runner` reads an
artifact's sidecar JSON (`<artifact>.json`, written by `k3dn export` / `k3dn quantize`) when there is one and
refuses an artifact whose bytes do not match the sidecar's sha256 or whose input shape disagrees with it.
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import copy
import ctypes
import functools
import gc
import importlib.util
import os
import platform
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .. import files
from ..backends import BACKENDS, TORCH, by_name
from ..errors import ArtifactError, PipelineError, RuntimeUnavailable
from .sidecar import path_sha256, read_sidecar, sidecar_path  # noqa: F401 - the runners' public API

INPUT_NAMES = ("left", "right")
OUTPUT_NAME = "sharp"
SUFFIXES = tuple(f".{b.suffix}" for b in (TORCH, *BACKENDS.values()))
MAX_THREADS = 1024  # more is a typo (ExecuTorch reads -1 as 4294967295 threads)


def _require(backend: str) -> None:
    module = BACKENDS[backend].runtime_module
    if importlib.util.find_spec(module) is None:
        raise RuntimeUnavailable(f"{backend}: {module} is not installed (pip install -e '.[export]')")


def unavailable(backend: str) -> str | None:
    """Why artifacts of `backend` cannot run on this machine (None: they can): its runtime is not installed,
    CoreML off macOS, or an ExecuTorch runtime without the delegate the program needs (the pip runtime on Linux
    registers no Vulkan or CoreML backend; those .pte files run on the devices whose ExecuTorch build links them)."""
    b = BACKENDS[backend]
    if importlib.util.find_spec(b.runtime_module) is None:
        return f"{backend}: {b.runtime_module} is not installed (pip install -e '.[export]')"
    if backend == "coreml" and platform.system() != "Darwin":
        return f"CoreML predictions need macOS, this is {platform.system()}"
    if b.delegate:
        from executorch.extension.pybindings import _portable_lib as runtime

        with native_stderr_silenced():
            registered = sorted(runtime._get_registered_backend_names())
        if b.delegate not in registered:
            where = {"VulkanBackend": "an Android (or Linux) build of ExecuTorch with the Vulkan backend and a "
                                      "Vulkan GPU", "CoreMLBackend": "ExecuTorch on macOS or iOS"}.get(b.delegate, "")
            return (f"{b.title}: this ExecuTorch runtime has no {b.delegate} registered (it has "
                    f"{', '.join(registered) or 'none'}){'; it runs with ' + where if where else ''}")
    return None


def _flush_c_streams() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the block: a runtime's C++ start-up logging would otherwise surround
    the one line a failing command prints. Errors still arrive as Python exceptions."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        _flush_c_streams()  # LiteRT logs through a buffered C stream: what it wrote must reach /dev/null now
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Runner(abc.ABC):
    """`__call__(left, right) -> sharp` on NCHW float32 numpy arrays in [0, 1]; `close()`.

    Attributes: `name` (backend), `input_shape` (the static N x 3 x H x W an artifact takes, None for any
    size), `precision` ('fp32', 'int8', ...), `threads` (what was set, None = the runtime's default),
    `thread_safe` (False: `Deblurrer` serialises calls through `lock`), `sidecar` (the artifact's JSON or {}).
    """

    name: str = "runner"
    input_shape: tuple[int, ...] | None = None
    precision: str = "fp32"
    threads: int | None = None
    thread_safe: bool = False
    sidecar: dict = {}  # noqa: RUF012 - replaced per instance, never mutated

    def __init__(self) -> None:
        self.lock = threading.Lock()

    closed: bool = False

    def __call__(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if self.closed:
            raise PipelineError(f"{self.name}: this runner was closed; open a new one")
        left, right = self._check(left, "left"), self._check(right, "right")
        if left.shape != right.shape:
            raise PipelineError(f"{self.name}: left {left.shape} and right {right.shape} differ")
        out = np.asarray(self._run(left, right), dtype=np.float32)
        # A NaN or Inf output (NaN weights, a tampered artifact, overflow) would be clipped into a black image
        # that looks like a result: it is an error instead, before anything is written.
        if not np.isfinite(out).all():
            raise PipelineError(f"{self.name}: the model produced NaN or Inf values (corrupt weights or artifact, "
                                "or non-finite inputs/gains); nothing was written")
        return out

    @abc.abstractmethod
    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray: ...

    def _check(self, x: np.ndarray, what: str) -> np.ndarray:
        x = np.ascontiguousarray(x)
        if 0 in x.strides:  # numpy gives new size-1 axes stride 0, which ExecuTorch rejects
            x = x.copy()
        if x.dtype != np.float32:
            raise PipelineError(f"{self.name}: {what} must be float32, got {x.dtype}")
        if x.ndim != 4 or x.shape[1] != 3:
            raise PipelineError(f"{self.name}: {what} must be N x 3 x H x W, got {x.shape}")
        if self.input_shape is not None and tuple(x.shape) != self.input_shape:
            raise PipelineError(f"{self.name}: {what} is {x.shape}; this artifact takes exactly {self.input_shape}")
        return x

    @property
    def tile_size(self) -> tuple[int, int] | None:
        """(H, W) of the fixed input, or None if the runner takes any size."""
        return None if self.input_shape is None else (int(self.input_shape[2]), int(self.input_shape[3]))

    def as_torch(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """This runner as a `(left, right) -> sharp` torch-tensor callable."""

        def run(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
            out = self(left.detach().cpu().float().numpy(), right.detach().cpu().float().numpy())
            return torch.from_numpy(out).to(left.device)

        return run

    def close(self) -> None:
        """Release the runtime's resources (idempotent); calling the runner afterwards raises PipelineError."""
        self.closed = True
        self._release()

    def _release(self) -> None:  # noqa: B027 - optional hook, most runners have nothing to release
        """Drop the runtime's objects (subclasses)."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TorchRunner(Runner):
    """PyTorch on the CPU: a K3DN (any size >= min_size, pads itself) or a LoweredK3DN (padded sizes).

    `fast` (default) runs the module with channels_last (NHWC) weights and inputs, which oneDNN convolves
    faster than NCHW on this model (`k3dn bench` rows 'PyTorch eager' vs 'PyTorch default'); the result is
    the same function up to float summation order (tests/bench/test_bench_torch.py states the max |diff|).
    `fast=False` is the plain NCHW eager module. `threads` sets torch's intra-op thread count for the whole
    process (torch has no per-module setting). `device`: where the module already is (e.g. "cuda" for k3dn eval
    --device cuda); inputs go there and outputs come back as numpy.
    """

    thread_safe = True  # no_grad forward of an eval module keeps no state

    def __init__(self, module: torch.nn.Module, name: str = "torch", threads: int | None = None,
                 fast: bool = True, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.module = module.eval()
        self.fast = fast
        if fast:  # a copy: Module.to() works in place, and the caller's module (an export's source) keeps NCHW
            self.module = copy.deepcopy(self.module).to(memory_format=torch.channels_last)
        self.device = torch.device(device)
        self.name = name
        self.threads = threads
        if threads:
            torch.set_num_threads(threads)

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        a, b = (torch.from_numpy(v).to(self.device) for v in (left, right))
        if self.fast:
            a, b = a.contiguous(memory_format=torch.channels_last), b.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            return self.module(a, b).float().contiguous().cpu().numpy()


class OnnxRuntimeRunner(Runner):
    """ONNX Runtime, CPU execution provider; `threads` = intra-op threads."""

    thread_safe = True  # InferenceSession.run is documented as thread-safe

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        _require("onnx")
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        self.name, self.threads = BACKENDS["onnx"].runtime, threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_shape = tuple(self.session.get_inputs()[0].shape)

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], dict(zip(INPUT_NAMES, (left, right), strict=True)))[0]

    def _release(self) -> None:
        self.session = None


class ExecuTorchRunner(Runner):
    """ExecuTorch's C++ runtime (the portable kernels with the XNNPACK backend linked in).

    It is driven through the extension module `_portable_lib` itself, the library under the public
    `executorch.runtime.Runtime`: that wrapper imports `executorch.exir` (and with it torchao) for a warning
    class, which costs seconds of start-up against a fraction of one: a large share of a camera frame's time
    budget. The calls are the ones `Runtime.load_program` / `Program.load_method` / `Method.execute` make, with the same
    (InternalConsistency) program verification.

    `threads` resizes ExecuTorch's process-wide threadpool (which XNNPACK uses). A loaded Method holds
    its own memory planning, so calls are serialised (thread_safe False).
    """

    def __init__(self, path: str | Path, threads: int | None = None, backend: str = "executorch") -> None:
        super().__init__()
        reason = unavailable(backend)  # also the GPU/NPU delegates' programs: the runtime must register theirs
        if reason:
            raise RuntimeUnavailable(reason)
        from executorch.extension.pybindings import _portable_lib as runtime

        self.name, self.threads = BACKENDS[backend].runtime, threads
        with native_stderr_silenced():  # its CPU probe logs "[cpuinfo_utils.cpp:..]" lines to stderr
            if threads:
                runtime._unsafe_reset_threadpool(int(threads))
            self.program = runtime._load_program(str(path), enable_etdump=False, debug_buffer_size=0,
                                                 program_verification=runtime.Verification.InternalConsistency)
            self.method = self.program.load_method("forward")
        self._first = True
        self.input_shape = tuple(self.method.method_meta().input_tensor_meta(0).sizes())

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        with native_stderr_silenced() if self._first else contextlib.nullcontext():  # the threadpool starts here
            self._first = False
            return self.method([torch.from_numpy(left), torch.from_numpy(right)])[0].numpy()

    def _release(self) -> None:
        self.method = self.program = None


# TFLite XNNPACK delegate flags (xnnpack/xnnpack_delegate.h): QS8 | QU8 are its defaults (int8 graphs delegate);
# TRANSIENT_INDIRECTION_BUFFER builds each convolution's indirection buffer in the shared workspace per run instead of
# keeping one per operator: at 1024x1024 that cut K3DN-Tiny fp32's peak RSS from 2.81 to 1.93 GB (same output).
LITERT_XNNPACK_FLAGS = 0x1 | 0x2 | 0x20


@functools.cache
def _silence_at_exit() -> None:
    """LiteRT's accelerator registry is static and logs its destruction to stderr after Python has finished: send
    file descriptor 2 to /dev/null at interpreter exit (atexit runs after any traceback was printed)."""
    atexit.register(lambda: os.dup2(os.open(os.devnull, os.O_WRONLY), 2))


class LiteRTRunner(Runner):
    """LiteRT (ai-edge-litert), signature `serving_default`, on its XNNPACK CPU path.

    Float-I/O models (fp32, and int8 graphs with float inputs) run through LiteRT's CompiledModel, which takes the
    XNNPACK flags (`LITERT_XNNPACK_FLAGS`: transient indirection buffers) the classic Interpreter cannot set from
    Python. A full-integer model may take and return int8 tensors (the converter folds the input QUANTIZE into the
    signature); it runs through the Interpreter, which reports the tensors' scale and zero point: the runner
    quantizes the float inputs and dequantizes the output with them, so callers still pass and get float32 in
    [0, 1]. Neither is thread-safe, so calls are serialised.
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        _require("tflite")
        self.name, self.threads = BACKENDS["tflite"].runtime, threads
        self.compiled = self.interpreter = None
        with native_stderr_silenced():  # its accelerator registry logs missing NPU plugins to stderr
            self._open_compiled(str(path), threads)
        if self.compiled is None:
            from ai_edge_litert.interpreter import Interpreter

            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self.signature = self.interpreter.get_signature_runner("serving_default")
            self.inputs = self.signature.get_input_details()
            self.output = self.signature.get_output_details()[OUTPUT_NAME]
            self.input_shape = tuple(int(d) for d in self.inputs[INPUT_NAMES[0]]["shape"])

    def _open_compiled(self, path: str, threads: int | None) -> None:
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.cpu_options import CpuOptions
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator
        from ai_edge_litert.options import Options

        options = Options(hardware_accelerators=HardwareAccelerator.CPU,
                          cpu_options=CpuOptions(num_threads=threads or 0, xnnpack_flags=LITERT_XNNPACK_FLAGS))
        model = CompiledModel.from_file(path, options=options)
        details = model.get_input_tensor_details("serving_default")
        out = model.get_output_tensor_details("serving_default")[OUTPUT_NAME]
        if any(details[n]["dtype"] != "float32" for n in INPUT_NAMES) or out["dtype"] != "float32":
            model.close()  # integer I/O: the Interpreter path knows the quantization parameters
            return
        self.compiled = model
        _silence_at_exit()
        index = model.get_signature_index("serving_default")
        self.buffers = (model.create_input_buffers(index), model.create_output_buffers(index))
        self.input_shape = tuple(int(d) for d in details[INPUT_NAMES[0]]["shape"])
        self.output_shape = tuple(int(d) for d in out["shape"])
        # the Interpreter path's I/O details, for callers that read them (float I/O: no quantization)
        self.inputs = {n: {**details[n], "dtype": np.float32, "quantization": (0.0, 0)} for n in INPUT_NAMES}
        self.output = {**out, "dtype": np.float32, "quantization": (0.0, 0)}
        self.index = index

    @staticmethod
    def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
        if not np.issubdtype(detail["dtype"], np.integer):
            return x
        scale, zero = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        return np.clip(np.rint(x / scale + zero), info.min, info.max).astype(detail["dtype"])

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if self.compiled is not None:
            inputs, outputs = self.buffers
            with native_stderr_silenced():  # the first buffer write sets up (and logs) its accelerator registry
                for buffer, x in zip(inputs, (left, right), strict=True):
                    buffer.write(x)
                self.compiled.run_by_index(self.index, inputs, outputs)
                return outputs[0].read(int(np.prod(self.output_shape)), np.float32).reshape(self.output_shape)
        feeds = {n: self._quantize(x, self.inputs[n]) for n, x in zip(INPUT_NAMES, (left, right), strict=True)}
        out = self.signature(**feeds)[OUTPUT_NAME]
        if np.issubdtype(out.dtype, np.integer):
            scale, zero = self.output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out

    def _release(self) -> None:
        with native_stderr_silenced():  # and its accelerators' destruction
            self.buffers = ()
            self.compiled = self.signature = self.interpreter = None
            gc.collect()


class CoreMLRunner(Runner):
    """coremltools MLModel.predict: macOS only (raises RuntimeUnavailable elsewhere)."""

    def __init__(self, path: str | Path, compute_units: str = "ALL", threads: int | None = None) -> None:
        super().__init__()
        _require("coreml")
        if platform.system() != "Darwin":
            raise RuntimeUnavailable(f"CoreML predictions need macOS, this is {platform.system()}")
        import coremltools as ct

        self.name = BACKENDS["coreml"].runtime
        self.model = ct.models.MLModel(str(path), compute_units=getattr(ct.ComputeUnit, compute_units))
        first = self.model.get_spec().description.input[0]
        self.input_shape = tuple(first.type.multiArrayType.shape)

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self.model.predict(dict(zip(INPUT_NAMES, (left, right), strict=True)))[OUTPUT_NAME]

    def _release(self) -> None:
        self.model = None


_BY_SUFFIX: dict[str, type[Runner]] = {f".{b.suffix}": globals()[b.runner] for b in BACKENDS.values()}


def open_runner(path: str | Path, threads: int | None = None, verify: bool = True,
                backend: str | None = None) -> Runner:
    """The runner for a weights file or artifact, by suffix: .safetensors (PyTorch), .pte (ExecuTorch; a
    .vulkan.pte or .coreml.pte needs a runtime with that delegate), .tflite (LiteRT), .onnx (ONNX Runtime),
    .mlpackage (CoreML, macOS only). `backend`: the backend that wrote it, for a file whose name does not say
    (the export pipeline's temporary file, before it has a sidecar); else the sidecar's, else the file name's.

    Raises FileNotFoundError, ArtifactError (unknown suffix, corrupt file, sidecar mismatch) or
    RuntimeUnavailable (the runtime is not installed or cannot run here).
    """
    path = Path(path)
    if not path.exists():
        if path.is_symlink():
            raise ArtifactError(f"{path}: a symbolic link that leads nowhere (or in a loop)")
        raise FileNotFoundError(f"no artifact at {path}")
    if threads is not None and (type(threads) is not int or not 1 <= threads <= MAX_THREADS):
        raise PipelineError(f"threads must be an integer from 1 to {MAX_THREADS}, got {threads!r}")
    files.note_input(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from ..network.weights_io import WeightsError, load_model

        try:
            model = load_model(path)
        except WeightsError as exc:
            raise ArtifactError(str(exc)) from exc
        return TorchRunner(model, threads=threads)
    if suffix not in _BY_SUFFIX:
        raise ArtifactError(f"{path}: unknown artifact type {path.suffix!r}; expected one of {list(SUFFIXES)}")
    meta = read_sidecar(path, verify=verify)
    named = BACKENDS.get(backend or meta.get("backend") or "")
    if named is None or not named.suffix.endswith(suffix[1:]):  # a sidecar cannot send a .onnx to ExecuTorch
        named = by_name(path.name)
    try:
        if _BY_SUFFIX[suffix] is ExecuTorchRunner:
            runner = ExecuTorchRunner(path, threads=threads, backend=named.name if named else "executorch")
        else:
            runner = _BY_SUFFIX[suffix](path, threads=threads)
    except RuntimeUnavailable:
        raise
    except Exception as exc:  # each runtime raises its own type for a corrupt file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ArtifactError(f"{path}: the {suffix[1:]} runtime cannot load it ({first[:200]})") from exc
    runner.sidecar = meta
    runner.precision = str(meta.get("precision", "fp32"))
    side_size = meta.get("input_size")
    if side_size and runner.tile_size is not None and list(runner.tile_size) != list(side_size):
        runner.close()
        raise ArtifactError(f"{path}: the runtime reports input {runner.tile_size}, its sidecar {side_size}")
    return runner
