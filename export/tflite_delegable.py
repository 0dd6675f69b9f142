"""Rewrite a float .tflite so LiteRT's XNNPACK delegate takes the whole graph in one partition (issue 31).

litert-torch writes two kinds of op that LiteRT's XNNPACK delegate leaves to TFLite's own kernels: a CONCATENATION
of more than 4 inputs (the cost volume's 10 maps, the SRP's 81 attention scores) and BROADCAST_TO (`nearest_upsample`'s
product with ones, which the converter folds into it). Each such op splits the delegated graph, and every tensor alive
across a split, the full-resolution encoder skips among them, moves into TFLite's arena on top of XNNPACK's: at
1024x1024 that arena held 311 MB. Both rewrites are exact (a concatenation is a copy):

- a CONCATENATION of n > FAN_IN inputs becomes a tree of concatenations of at most FAN_IN inputs each;
- a BROADCAST_TO that repeats one axis of size 1 becomes the CONCATENATION of that many copies of its input.
"""

from __future__ import annotations

import copy
from pathlib import Path

FAN_IN = 4  # the widest CONCATENATION the delegate takes (measured: a 10-input one ran outside it)


def make_delegable(path: str | Path) -> dict[str, int]:
    """Rewrite the .tflite at `path` in place; returns how many ops of each kind were rewritten."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    path = Path(path)
    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    ops = schema.BuiltinOperator
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    concat = _opcode(model, codes, ops.CONCATENATION, schema)
    done = {"concatenation_split": 0, "broadcast_to_as_concatenation": 0}
    for graph in model.subgraphs:
        rewritten = []
        for op in graph.operators:
            code = codes[op.opcodeIndex]
            if code == ops.BROADCAST_TO and _as_concatenation(graph, op, concat, schema):
                done["broadcast_to_as_concatenation"] += 1
                code = ops.CONCATENATION
            if code == ops.CONCATENATION and len(op.inputs) > FAN_IN:
                rewritten.extend(_split(graph, op))
                done["concatenation_split"] += 1
            rewritten.append(op)
        graph.operators = rewritten
    if any(done.values()):
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        path.write_bytes(builder.Output())
    return done


def _opcode(model, codes: list[int], builtin: int, schema) -> int:
    """Index of `builtin` in the model's operator codes, added if absent."""
    if builtin in codes:
        return codes.index(builtin)
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
    model.operatorCodes.append(code)
    codes.append(builtin)
    return len(codes) - 1


def _as_concatenation(graph, op, concat: int, schema) -> bool:
    """Turn a BROADCAST_TO that repeats exactly one size-1 axis into a CONCATENATION of copies (False: left as is)."""
    src, out = list(graph.tensors[op.inputs[0]].shape), list(graph.tensors[op.outputs[0]].shape)
    grown = [i for i, (a, b) in enumerate(zip(src, out, strict=False)) if a != b]
    if len(src) != len(out) or len(grown) != 1 or src[grown[0]] != 1:
        return False
    options = schema.ConcatenationOptionsT()
    options.axis, options.fusedActivationFunction = grown[0], schema.ActivationFunctionType.NONE
    op.opcodeIndex, op.inputs = concat, [op.inputs[0]] * int(out[grown[0]])
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.ConcatenationOptions, options
    return True


def _split(graph, op) -> list:
    """New CONCATENATION ops of at most FAN_IN inputs each that build `op`'s inputs up to FAN_IN groups; `op`
    keeps the last step."""
    out = graph.tensors[op.outputs[0]]
    axis = op.builtinOptions.axis % len(out.shape)
    new_ops, inputs = [], list(op.inputs)
    while len(inputs) > FAN_IN:
        grouped = []
        for i in range(0, len(inputs), FAN_IN):
            group = inputs[i:i + FAN_IN]
            if len(group) == 1:
                grouped.append(group[0])
                continue
            tensor = copy.deepcopy(out)
            tensor.shape = list(out.shape)
            tensor.shape[axis] = sum(int(graph.tensors[j].shape[axis]) for j in group)
            tensor.shapeSignature, tensor.buffer = None, 0
            tensor.name = (out.name or b"") + f"/group{len(graph.tensors)}".encode()
            graph.tensors.append(tensor)
            step = copy.deepcopy(op)
            step.inputs, step.outputs = group, [len(graph.tensors) - 1]
            new_ops.append(step)
            grouped.append(len(graph.tensors) - 1)
        inputs = grouped
    op.inputs = inputs
    return new_ops
