"""ExecuTorch: PT2E static int8 with the XNNPACK quantizer -> .pte, still one XNNPACK delegate call.

Weights int8 per output channel (symmetric), activations int8 per tensor (affine, histogram observer),
bias left to XNNPACK (int32 from the weight and input scales). prepare -> calibrate -> convert -> the
same lowering as the float export (`export.executorch.write_pte`: constant propagation, XNNPACK
partitioner). LeakyReLU, which the quantizer does not annotate, keeps its neighbours' qparams and runs as an
int8 XNNPACK op (`export.executorch.xnnpack_partitioner`); the other ops it does not annotate (the channel softmax,
clamp, the division by g(a)) run as float XNNPACK ops between dequantize/quantize nodes, inside the delegate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from k3dn.backends import BACKENDS as TABLE

from .pt2e import Calibrated, calibrate, share_data_movement
from .recipe import NumpyRunner, Recipe


class ExecuTorchInt8(Recipe):
    backend = "executorch"
    precision = "int8"
    suffix = TABLE["executorch"].suffix
    requires = ("executorch", "torchao")
    scheme = ("PT2E XNNPACKQuantizer: int8 weights per-channel symmetric, int8 activations per-tensor affine "
              "(histogram observer); pad/slice share their input's qparams; LeakyReLU int8 (neighbours' qparams); "
              "softmax, clamp, div float inside the delegate")
    simulated = "PT2E q/dq graph in eager PyTorch"

    def __init__(self, lowered, size) -> None:
        super().__init__(lowered, size)
        self.calibrated: Calibrated | None = None
        self.example: tuple[torch.Tensor, torch.Tensor] | None = None

    def calibrate(self, inputs: Sequence[tuple[np.ndarray, np.ndarray]], progress: bool = True) -> None:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )

        quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
        self.calibrated = calibrate(self.lowered, quantizer, inputs, desc="executorch: calibrating",
                                    annotate_hook=share_data_movement, progress=progress)
        self.layers = self.calibrated.layers
        self.example = tuple(torch.from_numpy(x) for x in inputs[0])

    def candidate(self, float_layers: Iterable[str] = ()) -> NumpyRunner:
        return self.calibrated.runner(self.calibrated.convert(float_layers))

    def write(self, out: Path, float_layers: Iterable[str] = ()) -> Path:
        from k3dn.export.executorch import write_pte

        return write_pte(self.calibrated.convert(float_layers), self.example, out)
