"""TFLite / LiteRT: litert-torch (no TensorFlow) -> .tflite with builtin ops only.

The signature `serving_default` takes `left`, `right` and returns `sharp` (NCHW float32, as the
model; litert-torch inserts the NHWC transposes itself).
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from k3dn.backends import BACKENDS as TABLE

from .common import INPUT_NAMES, OUTPUT_NAME, GraphAudit, as_lowered, commit_path, example_args, require, temp_path
from .tflite_delegable import make_delegable

REQUIRES = ("litert_torch", "ai_edge_litert")
SUFFIX = TABLE["tflite"].suffix
PRECISION = "fp32"
SIGNATURE = "serving_default"


class NamedOutput(nn.Module):
    """litert-torch names signature outputs after the keys of a returned dict."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> dict[str, torch.Tensor]:
        return {OUTPUT_NAME: self.model(left, right)}


def export_tflite(model: torch.nn.Module, example_inputs: tuple[torch.Tensor, torch.Tensor], out: str | Path) -> Path:
    """Export `model` (a K3DN, lowered here, or a LoweredK3DN) at the static shape of `example_inputs`
    to `out` (.tflite, builtin ops, signature left, right -> sharp), written atomically."""
    return write_tflite(NamedOutput(as_lowered(model)).eval(), example_inputs, out)


def write_tflite(
    module: torch.nn.Module, example_inputs: tuple[torch.Tensor, torch.Tensor], out: str | Path, quant_config=None
) -> Path:
    """litert-torch: `module` (returning {'sharp': ...}; float, or a PT2E-quantized graph module with its
    `quant_config`) -> `out` (.tflite), written atomically."""
    require("tflite", REQUIRES)
    import litert_torch

    out = Path(out)
    kwargs = dict(zip(INPUT_NAMES, example_args(example_inputs), strict=True))
    with contextlib.redirect_stdout(io.StringIO()):  # litert-torch prints a progress log per stage
        edge_model = litert_torch.convert(module, sample_kwargs=kwargs, quant_config=quant_config)
    tmp = temp_path(out)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            edge_model.export(str(tmp))
        if quant_config is None:  # float graphs: one XNNPACK partition (int8 graphs keep the converter's ops)
            make_delegable(tmp)
        return commit_path(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def audit_tflite(path: str | Path) -> GraphAudit:
    """Ops of a .tflite file as the interpreter sees them without any delegate: builtin only."""
    require("tflite", ("ai_edge_litert",))
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interp = Interpreter(
            model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
        interp.allocate_tensors()
    except (RuntimeError, ValueError) as exc:  # e.g. a Flex op the builtin resolver cannot create
        return GraphAudit("tflite", {}, problems=[f"builtin-only interpreter cannot load it: {exc}"])
    ops = Counter(d["op_name"] for d in interp._get_ops_details())  # the only op listing the API offers
    signatures = interp.get_signature_list()
    audit = GraphAudit(
        "tflite", dict(ops),
        details={
            "signatures": signatures,
            "inputs": {d["name"]: d["shape"].tolist() for d in interp.get_input_details()},
            "outputs": {d["name"]: d["shape"].tolist() for d in interp.get_output_details()},
        },
    )
    custom = sorted(op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE") or not op.isupper())
    if custom:
        audit.problems.append(f"non-builtin (Flex/Select-TF/custom) ops: {custom}")
    audit.details["dtypes"] = tflite_dtypes(path)
    sig = signatures.get(SIGNATURE, {})
    if list(sig.get("inputs", [])) != list(INPUT_NAMES) or list(sig.get("outputs", [])) != [OUTPUT_NAME]:
        audit.problems.append(f"signature {SIGNATURE} is {sig}, expected {list(INPUT_NAMES)} -> [{OUTPUT_NAME}]")
    return audit


def tflite_dtypes(path: str | Path) -> dict[str, dict]:
    """What a .tflite computes in which type, read from its flatbuffer (the interpreter API does not say):
    `ops`: op name -> {output dtype: count}; `constant_bytes`: dtype -> bytes of constant tensors (weights).

    An int8 artifact shows here which ops still run in float and how many weight bytes stayed float32.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(Path(path).read_bytes(), 0))
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    dtype_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    ops: dict[str, Counter] = {}
    constant_bytes: Counter = Counter()
    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            name = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
            out_type = dtype_names[graph.tensors[op.outputs[0]].type] if len(op.outputs) else "NONE"
            ops.setdefault(name, Counter())[out_type] += 1
        for tensor in graph.tensors:
            data = model.buffers[tensor.buffer].data
            if data is not None and len(data):
                constant_bytes[dtype_names[tensor.type]] += len(data)
    return {"ops": {k: dict(v) for k, v in sorted(ops.items())}, "constant_bytes": dict(constant_bytes)}
