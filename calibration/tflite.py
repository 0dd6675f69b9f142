"""TFLite / LiteRT: litert-torch's PT2E quantizer -> .tflite, builtin ops only.

Static int8 ("int8"): int8 weights per output channel, int8 activations per tensor, calibrated like
every backend. The kernel-query softmax is kept in float on purpose: LiteRT's int8 SOFTMAX requires an
output scale of exactly 1/256 (`output->params.scale not near 1.f / 256` at prepare time otherwise),
and at 1/256 steps the weights a of N = 128 kernels (typically ~1/128) would collapse to a few levels,
which the gain g(a) = clip(N a) and the division by it amplify. So the layer `top` (softmax, upsampling,
N*a, clip, division, the mean of the views; see calibration.pt2e) stays float, with QUANTIZE/DEQUANTIZE
around it. Everything else is int8: convs, the residual and skip adds (annotated here, `annotate_adds`:
the quantizer's own add annotator misses them under torch 2.13), mul/concat/pad/slice, and LeakyReLU
(unannotated, but the converter runs it in int8 once its neighbours are). `export.tflite.tflite_dtypes`
reads which ops of an artifact run in which type; the sidecar's audit records it.

Dynamic range ("int8-dynamic", the fallback): int8 weights, float activations quantized on the fly
inside each conv kernel; no calibration. Labelled as what it is, never as "int8".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from k3dn.backends import BACKENDS as TABLE
from k3dn.export.common import OUTPUT_NAME

from .pt2e import Q_KEY, ROOT_LAYER, Calibrated, calibrate, export_graph, share_data_movement
from .recipe import NumpyRunner, Recipe


def _quantizer(dynamic: bool):
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config

    return PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=dynamic))


def annotate_adds(quantization_config) -> Callable[[torch.fx.GraphModule], None]:
    """Annotate the tensor + tensor adds litert-torch's quantizer leaves bare, as its own add annotator would.

    Its annotator finds adds by `source_fn_stack` = operator.add/torch.add, which torch 2.13's non-strict
    export no longer records (mul is found through its name and is quantized). Unannotated, every
    residual and skip add ran in float between DEQUANTIZE/QUANTIZE (25 of them in Tiny).
    """
    from litert_torch.quantize.pt2e_quantizer_utils import get_input_act_qspec, get_output_act_qspec
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation

    def hook(model: torch.fx.GraphModule) -> None:
        for node in model.graph.nodes:
            if node.op != "call_function" or node.target != torch.ops.aten.add.Tensor or Q_KEY in node.meta:
                continue
            inputs = [a for a in node.args[:2] if isinstance(a, torch.fx.Node)]
            if len(inputs) == 2:
                node.meta[Q_KEY] = QuantizationAnnotation(
                    input_qspec_map={a: get_input_act_qspec(quantization_config) for a in inputs},
                    output_qspec=get_output_act_qspec(quantization_config), _annotated=True)

    return hook


def _annotate(quantizer) -> Callable[[torch.fx.GraphModule], None]:
    adds = annotate_adds(quantizer.global_config)

    def hook(model: torch.fx.GraphModule) -> None:
        adds(model)  # first: a pad or slice reading an add's output then shares its qparams
        share_data_movement(model)

    return hook


def _wrapped(lowered):
    from k3dn.export.tflite import NamedOutput

    return NamedOutput(lowered).eval()


class TFLiteInt8(Recipe):
    backend = "tflite"
    precision = "int8"
    suffix = TABLE["tflite"].suffix
    requires = ("litert_torch", "ai_edge_litert", "torchao")
    scheme = ("PT2E litert-torch quantizer: int8 weights per-channel symmetric, int8 activations per-tensor affine "
              "(histogram observer) for conv/add/mul/cat/pad/slice/LeakyReLU; the kernel-query softmax path runs in "
              "float between DEQUANTIZE/QUANTIZE")
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
                                    output_key=OUTPUT_NAME, root="model", annotate_hook=_annotate(self.quantizer),
                                    progress=progress)
        self.layers = self.calibrated.layers
        self.example = tuple(torch.from_numpy(x) for x in inputs[0])

    def candidate(self, float_layers: Iterable[str] = ()) -> NumpyRunner:
        return self.calibrated.runner(self.calibrated.convert(float_layers, fold_quantize=False))

    def write(self, out: Path, float_layers: Iterable[str] = ()) -> Path:
        from litert_torch.quantize.quant_config import QuantConfig

        from k3dn.export.tflite import write_tflite

        module = self.calibrated.convert(float_layers, fold_quantize=False)
        return write_tflite(module, self.example, out, quant_config=QuantConfig(pt2e_quantizer=self.quantizer))


class TFLiteDynamicInt8(Recipe):
    backend = "tflite"
    precision = "int8-dynamic"
    suffix = TABLE["tflite"].suffix
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

        from k3dn.export.tflite import write_tflite

        if list(float_layers):
            raise ValueError("int8-dynamic keeps no layer in float")
        return write_tflite(self.module, self.example, out, quant_config=QuantConfig(pt2e_quantizer=self.quantizer))
