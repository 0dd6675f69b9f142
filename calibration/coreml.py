"""CoreML: int8 weights, fp16 activations ("w8a16") with coremltools.optimize, on the fp16 ML program.

`export.coreml.export_coreml` (fp16 compute) -> `ct.optimize.coreml.linear_quantize_weights` (int8,
symmetric, per output channel, every weight tensor of at least 2048 elements; smaller ones such as
biases and the 1x1x1x2 upsampling ones stay fp16). The weights are stored int8 and expanded by
`constexpr_affine_dequantize` ops at load time; the Neural Engine computes in fp16.

No calibration and no layer search: weight-only quantization does not look at activations, and the
numeric check of a CoreML model needs macOS (`MLModel.predict`). W8A8 (int8 activations) needs
`ct.optimize.coreml.linear_quantize_activations`, which calibrates by running predictions, so it
needs a Mac; it is not built here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from k3dn.backends import BACKENDS as TABLE

from .recipe import NumpyRunner, Recipe

WEIGHT_THRESHOLD = 2048  # elements; coremltools' default: smaller tensors are not worth compressing
W8A8_NOTE = ("W8A8 needs ct.optimize.coreml.linear_quantize_activations, which calibrates with MLModel.predict: "
             "macOS only")


class CoreMLW8(Recipe):
    backend = "coreml"
    precision = "w8a16"
    suffix = TABLE["coreml"].suffix
    requires = ("coremltools",)
    needs_calibration = False
    scheme = "coremltools linear_quantize_weights: int8 weights per-channel symmetric, fp16 activations"
    simulated = "not available (CoreML predictions need macOS)"

    def __init__(self, lowered, size) -> None:
        super().__init__(lowered, size)
        self.example = None

    def calibrate(self, inputs: Sequence[tuple[np.ndarray, np.ndarray]], progress: bool = True) -> None:
        self.example = tuple(torch.from_numpy(x) for x in inputs[0])  # only the shape is used

    def candidate(self, float_layers: Iterable[str] = ()) -> NumpyRunner:
        raise NotImplementedError("CoreML numerics need macOS: no layer-wise search here")

    def write(self, out: Path, float_layers: Iterable[str] = ()) -> Path:
        import coremltools as ct
        import coremltools.optimize as cto

        from k3dn.export.coreml import export_coreml, save_mlmodel

        if list(float_layers):
            raise ValueError("the CoreML recipe keeps no layer in float")
        out = Path(out)
        with tempfile.TemporaryDirectory(prefix="k3dn-coreml-w8-") as tmpdir:
            fp16 = export_coreml(self.lowered, self.example, Path(tmpdir) / "fp16.mlpackage", precision="fp16")
            model = ct.models.MLModel(str(fp16), skip_model_load=True)
            config = cto.coreml.OptimizationConfig(global_config=cto.coreml.OpLinearQuantizerConfig(
                mode="linear_symmetric", dtype="int8", granularity="per_channel", weight_threshold=WEIGHT_THRESHOLD))
            quantized = cto.coreml.linear_quantize_weights(model, config)
            quantized.user_defined_metadata["k3dn.weight_precision"] = "int8"
            return save_mlmodel(quantized, out)
