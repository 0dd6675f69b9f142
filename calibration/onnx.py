"""ONNX Runtime: static QDQ int8 (onnxruntime.quantization.quantize_static) on the fp32 export.

Weights int8 per output channel (symmetric), activations uint8 per tensor (affine, the 0.005th-99.995th
percentile range of a histogram over the calibration set), QuantizeLinear/DequantizeLinear pairs around every
quantized op (QDQ format, the form NPU execution providers consume). The fp32 model is
`export.onnx.export_onnx`'s (opset 18, onnxsim).

Why percentile, not MinMax: a MinMax range is set by a few extreme activations, which costs every other
value resolution. Measured on the stage-10 weights (256x256, 16 calibration pairs, the 24 eval pairs, the 6
float layers then published): drop vs float +0.246 dB with MinMax, +0.171 dB at the 99.999th percentile,
+0.142 dB at the 99.99th (chosen); with every layer int8, +0.417 / +0.326 / +0.322 dB. ORT's histogram
calibrator keeps every calibration input's activations until it builds the histograms (9.7 GB for 64 pairs
when first tried), so the inputs are streamed one at a time (`CalibStridedMinMax`=1: quantize_static then
calls the calibrator once per input and the histograms are merged as they come), in one input's memory.

Why uint8 activations: ONNX Runtime's CPU provider fuses DequantizeLinear -> op -> QuantizeLinear into its
integer kernels (QLinearConv, QLinearMul, QLinearAdd, QLinearLeakyRelu, ...) for uint8 activations with
int8 weights (U8S8, the format MLAS implements with VNNI / VPMADDUBSW on x86 and SDOT on Arm). With int8
activations (S8S8) most of K3DN's ops were left as float Conv/Mul/Add between DequantizeLinear and
QuantizeLinear: ORT's profiler (SessionOptions.enable_profiling, `k3dn bench --profile`) showed 114 of the
154 convolutions running in float and 436 DequantizeLinear + 174 QuantizeLinear nodes, and the int8 file
ran no faster than fp32 (25 % slower at 512x512). An affine uint8 grid over the same range has the
same 256 levels as the int8 one (the zero point moves by 128), so the numerics are the same. On x86 CPUs
without VNNI, VPMADDUBSW can saturate a U8S8 pair sum; ORT documents `reduce_range` for those.

Calibration runs once and its tensor ranges are cached, so every mix of layers kept in float
(`nodes_to_exclude`) is quantized with the same ranges without recalibrating. ONNX node names are
mapped back to the model's layers (calibration.pt2e naming) through the torch.export node names the
dynamo exporter keeps, a Conv's weight initializer name, or else the node that produces its input.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from k3dn.backends import BACKENDS as TABLE
from k3dn.export.common import INPUT_NAMES, commit_path, temp_path

from .pt2e import ROOT_LAYER, assign_layers, export_graph
from .recipe import NumpyRunner, Recipe


def onnx_layers(model, lowered: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> dict[str, str]:
    """ONNX node name -> layer name, for every node of `model` (an onnx.ModelProto of `lowered`)."""
    fx = {n.name: layer for n, layer in assign_layers(export_graph(lowered, example).graph).items()}
    producer: dict[str, str] = {}
    out: dict[str, str] = {}
    for node in model.graph.node:
        layer = fx.get(node.name.removeprefix("node_"))
        if layer is None and node.op_type in ("Conv", "ConvTranspose") and len(node.input) > 1 \
                and node.input[1].endswith(".weight"):
            layer = node.input[1].removesuffix(".weight")
        if layer is None:
            layer = next((producer[i] for i in node.input if i in producer), ROOT_LAYER)
        out[node.name] = layer
        for o in node.output:
            producer[o] = layer
    return out


PERCENTILE = 99.99  # activation range: the central 99.99 % of each tensor's calibration histogram


class OnnxInt8(Recipe):
    backend = "onnx"
    precision = "int8"
    suffix = TABLE["onnx"].suffix
    requires = ("onnx", "onnxscript", "onnxruntime", "onnxsim")
    scheme = ("onnxruntime quantize_static, QDQ: int8 weights per-channel symmetric, uint8 activations per-tensor "
              f"affine (percentile {PERCENTILE} of a streamed histogram; U8S8, the format ORT's CPU kernels fuse into "
              "QLinearConv/QLinearMul/...)")

    def __init__(self, lowered, size) -> None:
        super().__init__(lowered, size)
        self._dir = tempfile.TemporaryDirectory(prefix="k3dn-onnx-int8-")
        self.tmp = Path(self._dir.name)
        self.fp32 = self.tmp / "fp32.onnx"
        self.cache = self.tmp / "calibration.cache"
        self.node_layers: dict[str, str] = {}
        self.inputs: Sequence[tuple[np.ndarray, np.ndarray]] = ()
        self._n = 0

    def _quantize(self, out: Path, float_layers: Iterable[str] = (), progress: bool = False) -> Path:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from tqdm import tqdm

        inputs = self.inputs

        bar = tqdm(total=len(inputs), desc="onnx: calibrating", unit="input", disable=not progress, leave=False)

        class Reader(CalibrationDataReader):
            """The calibration inputs, one range [start, end) at a time (CalibStridedMinMax streams them)."""

            def __init__(self) -> None:
                self.it = iter(inputs)

            def __len__(self) -> int:
                return len(inputs)

            def set_range(self, start_index: int, end_index: int) -> None:
                self.it = iter(inputs[start_index:end_index])

            def get_next(self):
                pair = next(self.it, None)
                if pair is None:
                    return None
                bar.update(1)
                return dict(zip(INPUT_NAMES, pair, strict=True))

        keep = set(float_layers)
        exclude = sorted(n for n, layer in self.node_layers.items() if layer in keep)
        quantize_static(
            str(self.fp32), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile, nodes_to_exclude=exclude,
            calibration_cache_path=str(self.cache),
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True, "CalibStridedMinMax": 1,
                           "CalibPercentile": PERCENTILE, "CalibTensorRangeSymmetric": False},
        )
        bar.close()
        return out

    def calibrate(self, inputs: Sequence[tuple[np.ndarray, np.ndarray]], progress: bool = True) -> None:
        import onnx

        from k3dn.export.onnx import export_onnx

        example = tuple(torch.from_numpy(x) for x in inputs[0])
        export_onnx(self.lowered, example, self.fp32)
        self.node_layers = onnx_layers(onnx.load(str(self.fp32)), self.lowered, example)
        self.inputs = inputs
        self._quantize(self.tmp / "all.onnx", progress=progress)  # runs the calibrator, fills the cache
        quantized = {n.name for n in onnx.load(str(self.tmp / "all.onnx")).graph.node}
        dq_consumers = {layer for name, layer in self.node_layers.items() if name in quantized}
        self.layers = sorted(dq_consumers)

    def candidate(self, float_layers: Iterable[str] = ()) -> NumpyRunner:
        from k3dn.export.runners import OnnxRuntimeRunner

        self._n += 1
        path = self._quantize(self.tmp / f"candidate_{self._n}.onnx", float_layers)
        runner = OnnxRuntimeRunner(path)
        path.unlink()  # the session holds the model
        return runner

    def write(self, out: Path, float_layers: Iterable[str] = ()) -> Path:
        tmp = temp_path(Path(out))
        try:
            self._quantize(tmp, float_layers)
            return commit_path(tmp, Path(out))
        finally:
            if tmp.exists():
                tmp.unlink()

    def close(self) -> None:
        self._dir.cleanup()
