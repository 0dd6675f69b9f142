"""The interface every backend's quantization recipe implements, so the pipeline, the sensitivity analysis
and the mixed-precision search treat ExecuTorch, ONNX Runtime, LiteRT and CoreML alike.

    recipe = ExecuTorchInt8(lowered, size)
    recipe.calibrate(calib.inputs(size))          # once: observers / ORT calibrator on the same data
    run = recipe.candidate(float_layers={"top"})   # fast numpy runner of that mix, for the search
    recipe.write(out_path, float_layers={"top"})   # the artifact of that mix
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from k3dn.export.lower import LoweredK3DN

NumpyRunner = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Recipe(abc.ABC):
    """One quantization recipe for one backend at one static input size.

    Class attributes: backend (export backend name), precision (artifact label: 'int8', 'int8-dynamic',
    'w8a16'), suffix (file type), requires (importable modules), needs_calibration, scheme (one line:
    weights, activations, what stays float and why), simulated (how `candidate` computes: 'runtime' when
    it runs the backend's own runtime, else a description).
    """

    backend: str
    precision: str
    suffix: str
    requires: tuple[str, ...]
    needs_calibration: bool = True
    scheme: str = ""
    simulated: str = "runtime"
    default_float_layers: tuple[str, ...] = ()  # what the fixed recipe keeps in float
    default_float_reason: str = ""

    @classmethod
    def searchable(cls) -> bool:
        """Whether a mixed-precision search can measure candidates (calibrated, simulated by PT2E or the runtime)."""
        return cls.needs_calibration and (cls.simulated.startswith("PT2E") or cls.simulated == "runtime")

    def __init__(self, lowered: LoweredK3DN, size: tuple[int, int]) -> None:
        self.lowered = lowered.eval()
        self.size = size
        self.layers: list[str] = []

    @abc.abstractmethod
    def calibrate(self, inputs: Sequence[tuple[np.ndarray, np.ndarray]], progress: bool = True) -> None:
        """Collect activation ranges on `inputs` (1 x 3 x H x W float32 pairs); sets `self.layers`."""

    @abc.abstractmethod
    def candidate(self, float_layers: Iterable[str] = ()) -> NumpyRunner:
        """A runner of the quantized model with `float_layers` kept in float (for the search)."""

    @abc.abstractmethod
    def write(self, out: Path, float_layers: Iterable[str] = ()) -> Path:
        """Write the artifact with `float_layers` kept in float to `out`; returns `out`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release temporary files."""
