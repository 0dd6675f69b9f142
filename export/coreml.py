"""CoreML: trace -> coremltools -> .mlpackage (ML program, fp16 compute, fixed input shapes).

Route: torch.export the lowered module, then torch.jit.trace the exported graph module, then
`ct.convert`. Tracing the exported module (not the lowered one) matters: a direct trace records the
shape arithmetic of k3dn.network.blocks.shifted (`max(dy, 0) + h`) as tensor ops, and coremltools 9.0 fails
on it (`aten::Int` of a non-scalar); the exported graph has those shapes as plain integers. The
torch.export -> ct.convert route itself failed here on no-op slices (`Unsupported fx node alias`).

Shapes are fixed, not flexible: flexible shapes keep a model off the Neural Engine. I/O stays
float32 (the contract); compute is fp16 by default, as the Neural Engine runs it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch

from k3dn.backends import BACKENDS as TABLE

from .common import (
    INPUT_NAMES,
    OUTPUT_NAME,
    GraphAudit,
    as_lowered,
    commit_path,
    example_args,
    remove_path,
    require,
    temp_path,
)
from .lower import with_transposed_convs

REQUIRES = ("coremltools",)
SUFFIX = TABLE["coreml"].suffix
PRECISION = "fp16"
DEPLOYMENT_TARGET = "iOS16"  # ML program with fp16 compute; iOS 16 / macOS 13 and later
# MIL ops this model may contain: all run on the Neural Engine. A new op type fails the audit, so that
# someone checks where it runs before it ships.
EXPECTED_OPS = frozenset({
    "conv", "conv_transpose", "add", "mul", "real_div", "leaky_relu", "clip", "pad", "slice_by_index", "concat",
    "reshape", "transpose", "softmax", "cast", "maximum", "minimum",
    "constexpr_affine_dequantize",  # int8-stored weights expanded at load time (calibration.coreml, w8a16)
})


def export_coreml(
    model: torch.nn.Module,
    example_inputs: tuple[torch.Tensor, torch.Tensor],
    out: str | Path,
    precision: str = PRECISION,
) -> Path:
    """Export `model` (a K3DN, lowered here, or a LoweredK3DN) at the static shape of `example_inputs`
    to `out` (.mlpackage, ML program, `precision` 'fp16' or 'fp32' compute, float32 I/O `left`, `right`
    -> `sharp`), written atomically."""
    require("coreml", REQUIRES)
    import coremltools as ct

    if precision not in ("fp16", "fp32"):
        raise ValueError(f"precision must be 'fp16' or 'fp32', got {precision!r}")
    out = Path(out)
    args = example_args(example_inputs)
    # The k2 s2 upsamplers go back to conv_transpose (an ANE op) from export.lower's pixel_shuffle form.
    graph_module = torch.export.export(with_transposed_convs(as_lowered(model)), args, strict=False).module()
    for m in graph_module.modules():  # eval() is not supported on an exported module; nothing in it depends on it
        m.training = False
    traced = torch.jit.trace(graph_module, args, check_trace=False)
    mlmodel = ct.convert(
        traced,
        inputs=[ct.TensorType(name=n, shape=tuple(t.shape), dtype=np.float32)
                for n, t in zip(INPUT_NAMES, args, strict=True)],
        outputs=[ct.TensorType(name=OUTPUT_NAME, dtype=np.float32)],
        convert_to="mlprogram",
        compute_precision=ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32,
        minimum_deployment_target=getattr(ct.target, DEPLOYMENT_TARGET),
    )
    mlmodel.short_description = "K3DN dual-pixel defocus deblurring: left, right -> sharp (NCHW RGB in [0, 1])"
    mlmodel.user_defined_metadata.update({"k3dn.compute_precision": precision, "k3dn.input_range": "[0, 1]",
                                          "k3dn.layout": "NCHW, RGB"})
    return save_mlmodel(mlmodel, out)


def save_mlmodel(mlmodel, out: str | Path) -> Path:
    """Save a coremltools MLModel as the .mlpackage `out`, atomically."""
    out = Path(out)
    tmp = temp_path(out)
    try:
        mlmodel.save(str(tmp))
        return commit_path(tmp, out)
    finally:
        remove_path(tmp)


def _mil_ops(block, counts: Counter) -> None:
    for op in block.operations:
        counts[op.type] += 1
        for inner in op.blocks:
            _mil_ops(inner, counts)


def audit_coreml(path: str | Path) -> GraphAudit:
    """MIL op list, I/O and shape flexibility of an .mlpackage, read from its spec (works on Linux)."""
    require("coreml", REQUIRES)
    import coremltools as ct

    spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()
    if spec.WhichOneof("Type") != "mlProgram":
        return GraphAudit("coreml", {}, problems=[f"not an ML program but {spec.WhichOneof('Type')}"])
    counts: Counter = Counter()
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            _mil_ops(block, counts)
    consts = counts.pop("const", 0)

    dtype_name = ct.proto.FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name

    def io(features) -> dict[str, dict]:
        arrays = {f.name: f.type.multiArrayType for f in features}
        return {n: {"shape": list(a.shape), "dtype": dtype_name(a.dataType),
                    "flexible": a.WhichOneof("ShapeFlexibility")} for n, a in arrays.items()}

    inputs, outputs = io(spec.description.input), io(spec.description.output)
    meta = dict(spec.description.metadata.userDefined)
    audit = GraphAudit("coreml", dict(counts), details={
        "inputs": inputs, "outputs": outputs, "consts": consts, "spec_version": spec.specificationVersion,
        "compute_precision": meta.get("k3dn.compute_precision"), "deployment_target": DEPLOYMENT_TARGET,
    })
    if list(inputs) != list(INPUT_NAMES) or list(outputs) != [OUTPUT_NAME]:
        audit.problems.append(f"I/O names {list(inputs)} -> {list(outputs)}")
    unexpected = sorted(set(counts) - EXPECTED_OPS)
    if unexpected:
        audit.problems.append(f"MIL ops outside the expected (Neural Engine) set: {unexpected}")
    flexible = [n for n, d in {**inputs, **outputs}.items() if d["flexible"]]
    if flexible:
        audit.problems.append(f"flexible shapes (keep the model off the Neural Engine): {flexible}")
    if any(d["dtype"] != "FLOAT32" for d in {**inputs, **outputs}.values()):
        audit.problems.append("I/O must be float32")
    return audit

