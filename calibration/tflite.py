"""TFLite / LiteRT: litert-torch's PT2E quantizer -> .tflite, builtin ops only.

Static int8 ("int8"): int8 weights per output channel, int8 activations per tensor, calibrated like
every backend. The kernel-query softmax is kept in float on purpose: LiteRT's int8 SOFTMAX requires an
output scale of exactly 1/256 (`output->params.scale not near 1.f / 256` at prepare time otherwise),
and at 1/256 steps the weights a of N = 128 kernels (typically ~1/128) would collapse to a few levels,
which the gain g(a) = clip(N a) and the division by it amplify. So the layer `top` (softmax, upsampling,
N*a, clip, division; see calibration.pt2e) stays float, with QUANTIZE/DEQUANTIZE around it; every conv
and the SRP attention's add/mul/concat are int8. LeakyReLU is not annotated by litert-torch's quantizer and
runs in float between DEQUANTIZE/QUANTIZE (a known gap: LiteRT has an int8 LEAKY_RELU).

Dynamic range ("int8-dynamic", the fallback): int8 weights, float activations quantized on the fly
inside each conv kernel; no calibration. Labelled as what it is, never as "int8".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from export.common import OUTPUT_NAME

from .pt2e import ROOT_LAYER, Calibrated, calibrate, export_graph, share_data_movement
from .recipe import NumpyRunner, Recipe


def _quantizer(dynamic: bool):
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config

    return PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=dynamic))


def _wrapped(lowered):
    from export.tflite import NamedOutput

    return NamedOutput(lowered).eval()


class TFLiteInt8(Recipe):
    backend = "tflite"
    precision = "int8"
    suffix = "tflite"
    requires = ("litert_torch", "ai_edge_litert", "torchao")
    scheme = ("PT2E litert-torch quantizer: int8 weights per-channel symmetric, int8 activations per-tensor affine "
              "(histogram observer) for conv/add/mul/cat/pad/slice; LeakyReLU (not annotated by the quantizer) and "
              "the kernel-query softmax path run in float between DEQUANTIZE/QUANTIZE")
    simulated = "PT2E q/dq graph in eager PyTorch"
    default_float_layers = (ROOT_LAYER,)
    default_float_reason = ("kernel-query softmax + gain path kept float: LiteRT int8 SOFTMAX needs output scale "
                            "1/256, too coarse for 128 kernel weights a ~ 1/128")

    def __init__(self, lowered, size) -> None:
        super().__init__(lowered, size)
        self.calibrated: Calibrated | None = None
        self.quantizer = None
        self.example = None

    def calibrate(self, inputs: Sequence[tuple[np.ndarray, np.ndarray]], progress: bool = True) -> None:
        self.quantizer = _quantizer(dynamic=False)
        self.calibrated = calibrate(_wrapped(self.lowered), self.quantizer, inputs, desc="tflite: calibrating",
                                    output_key=OUTPUT_NAME, root="model", annotate_hook=share_data_movement,
                                    progress=progress)
        self.layers = self.calibrated.layers
        self.example = tuple(torch.from_numpy(x) for x in inputs[0])

    def candidate(self, float_layers: Iterable[str] = ()) -> NumpyRunner:
        return self.calibrated.runner(self.calibrated.convert(float_layers, fold_quantize=False))

    def write(self, out: Path, float_layers: Iterable[str] = ()) -> Path:
        from litert_torch.quantize.quant_config import QuantConfig

        from export.tflite import write_tflite

        module = self.calibrated.convert(float_layers, fold_quantize=False)
        return write_tflite(module, self.example, out, quant_config=QuantConfig(pt2e_quantizer=self.quantizer))


class TFLiteDynamicInt8(Recipe):
    backend = "tflite"
    precision = "int8-dynamic"
    suffix = "tflite"
    requires = ("litert_torch", "ai_edge_litert", "torchao")
    needs_calibration = False
    scheme = "PT2E litert-torch quantizer, dynamic range: int8 weights per-channel, float activations"

    def __init__(self, lowered, size) -> None:
        super().__init__(lowered, size)
        self.example = None
        self.quantizer = None
        self.module = None

    def calibrate(self, inputs: Sequence[tuple[np.ndarray, np.ndarray]], progress: bool = True) -> None:
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        self.example = tuple(torch.from_numpy(x) for x in inputs[0])
        self.quantizer = _quantizer(dynamic=True)
        prepared = prepare_pt2e(export_graph(_wrapped(self.lowered), self.example), self.quantizer)
        prepared(*self.example)  # dynamic: the observers only record weights; one call is enough
        self.module = convert_pt2e(prepared, fold_quantize=False)

    def candidate(self, float_layers: Iterable[str] = ()) -> NumpyRunner:
        raise NotImplementedError("int8-dynamic has no layer-wise search: it has no activation quantization")

    def write(self, out: Path, float_layers: Iterable[str] = ()) -> Path:
        from litert_torch.quantize.quant_config import QuantConfig

        from export.tflite import write_tflite

        if list(float_layers):
            raise ValueError("int8-dynamic keeps no layer in float")
        return write_tflite(self.module, self.example, out, quant_config=QuantConfig(pt2e_quantizer=self.quantizer))
