"""ONNX: torch.onnx.export(dynamo=True) at a fixed opset, then onnxsim -> .onnx.

onnxslim is used instead of onnxsim only when onnxsim is missing or fails, and the reason is written
into the model's metadata (`k3dn.simplifier`), which the audit and the sidecar read back.
"""

from __future__ import annotations

import io
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

import torch

from k3dn.backends import BACKENDS as TABLE

from .common import (
    INPUT_NAMES,
    OUTPUT_NAME,
    ExportError,
    GraphAudit,
    as_lowered,
    commit_path,
    example_args,
    require,
    temp_path,
)

OPSET = 18  # ONNX Runtime (incl. mobile) and every ONNX-consuming NPU SDK we target run opset 18.
REQUIRES = ("onnx", "onnxscript", "onnxruntime", "onnxsim")
SUFFIX = TABLE["onnx"].suffix
PRECISION = "fp32"


def _simplify(model):  # onnx.ModelProto -> (ModelProto, note)
    """onnxsim; onnxslim only as a stated fallback."""
    try:
        import onnxsim

        simplified, ok = onnxsim.simplify(model)
        if ok:
            return simplified, f"onnxsim {onnxsim.__version__}"
        reason = "onnxsim could not validate the simplified model"
    except Exception as exc:  # noqa: BLE001 - any onnxsim failure is a reason to fall back
        reason = f"onnxsim failed: {type(exc).__name__}: {exc}"
    try:
        import onnxslim
    except ImportError as exc:
        raise ExportError(f"{reason}; onnxslim (the fallback) is not installed") from exc
    return onnxslim.slim(model), f"onnxslim {onnxslim.__version__} (fallback: {reason})"


def export_onnx(model: torch.nn.Module, example_inputs: tuple[torch.Tensor, torch.Tensor], out: str | Path) -> Path:
    """Export `model` (a K3DN, lowered here, or a LoweredK3DN) at the static shape of `example_inputs`
    to `out` (.onnx, opset OPSET, inputs `left`, `right`, output `sharp`), written atomically."""
    require("onnx", REQUIRES)
    import onnx

    out = Path(out)
    lowered = as_lowered(model)
    with redirect_stdout(io.StringIO()):  # the dynamo exporter prints its progress to stdout
        program = torch.onnx.export(
            lowered, example_args(example_inputs), dynamo=True, opset_version=OPSET,
            input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME], external_data=False,
        )
    simplified, note = _simplify(program.model_proto)
    onnx.checker.check_model(simplified)
    meta = {"k3dn.simplifier": note, "k3dn.variant": lowered.config.name, "k3dn.input_range": "[0, 1]",
            "k3dn.layout": "NCHW, RGB"}
    del simplified.metadata_props[:]
    for key, value in meta.items():
        simplified.metadata_props.add(key=key, value=value)
    tmp = temp_path(out)
    try:
        onnx.save(simplified, str(tmp))
        return commit_path(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def audit_onnx(path: str | Path) -> GraphAudit:
    """Ops, opset and I/O of an .onnx file; every op must be in the default ONNX domain."""
    require("onnx", ("onnx",))
    import onnx

    model = onnx.load(str(path))
    ops = Counter(n.op_type for n in model.graph.node)
    domains = sorted({n.domain for n in model.graph.node if n.domain not in ("", "ai.onnx")})
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}

    def shape(v) -> list[int | str]:
        return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]

    audit = GraphAudit(
        "onnx", dict(ops),
        details={
            "opset": opsets.get("ai.onnx"),
            "inputs": {i.name: shape(i) for i in model.graph.input},
            "outputs": {o.name: shape(o) for o in model.graph.output},
            "metadata": {p.key: p.value for p in model.metadata_props},
        },
    )
    if domains:
        audit.problems.append(f"ops outside the default ONNX domain: {domains}")
    if opsets.get("ai.onnx") != OPSET:
        audit.problems.append(f"opset {opsets.get('ai.onnx')} != {OPSET}")
    if list(audit.details["inputs"]) != list(INPUT_NAMES) or list(audit.details["outputs"]) != [OUTPUT_NAME]:
        audit.problems.append(f"I/O names {list(audit.details['inputs'])} -> {list(audit.details['outputs'])}")
    dynamic = [n for n, s in {**audit.details["inputs"], **audit.details["outputs"]}.items()
               if any(not isinstance(d, int) or d <= 0 for d in s)]
    if dynamic:
        audit.problems.append(f"non-static shapes: {dynamic}")
    return audit
