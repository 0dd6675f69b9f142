"""Activation memory of one inference, from the graph: the liveness floor, and what a runtime planned.

`liveness_floor` runs the exported ATen graph's nodes in their program order and keeps each activation alive from
the node that makes it to its last reader: the peak of the live bytes is the least any runtime that executes that
order (and does not compute in place) needs for activations, inputs and output included, weights excluded. The
sidecar records it with the runtime's own plan (`planned_pte_bytes`), so a benchmark can hold measured peak RSS to
a stated factor of it (benchmarks/test_memory.py).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .common import example_args

# Ops counted as views of their input (no new memory). Slices are not: XNNPACK (ExecuTorch, LiteRT) copies each
# one, and a graph that makes many slices before reading them has a floor to match (k3dn.network.blocks.shifted_views).
_VIEW_OPS = {"view", "_unsafe_view", "reshape", "squeeze", "unsqueeze", "expand", "alias", "detach", "getitem"}


def _bytes(val) -> int:
    if isinstance(val, torch.Tensor):
        return val.numel() * val.element_size()
    if isinstance(val, (list, tuple)):
        return sum(_bytes(v) for v in val)
    return 0


def sidecar_memory(module: torch.nn.Module, example_inputs: tuple[torch.Tensor, ...]) -> dict:
    """The sidecar's `memory` object: the graph's liveness floor (bytes) at the export size, and per megapixel."""
    floor = liveness_floor(module, example_inputs)
    pixels = example_inputs[0].shape[-2] * example_inputs[0].shape[-1]
    return {"liveness_floor_bytes": floor["floor_bytes"], "io_bytes": floor["io_bytes"],
            "largest_activation_bytes": floor["largest_bytes"],
            "liveness_floor_bytes_per_mp": round(floor["floor_bytes"] * 1e6 / pixels)}


def liveness_floor(module: torch.nn.Module, example_inputs: tuple[torch.Tensor, ...]) -> dict:
    """{'floor_bytes', 'io_bytes', 'largest_bytes', 'nodes'} for `module` at the shape of `example_inputs`.

    floor_bytes: peak of live activation bytes over the program order (inputs until their last reader, the
    output until the end); io_bytes: inputs + output; largest_bytes: the largest single activation."""
    program = torch.export.export(module.eval(), example_args(example_inputs), strict=False)
    graph = program.graph_module.graph
    params = set(program.graph_signature.inputs_to_parameters) | set(program.graph_signature.inputs_to_buffers)
    params |= set(program.graph_signature.inputs_to_lifted_tensor_constants)
    nodes = list(graph.nodes)
    last_use = {}
    for i, node in enumerate(nodes):
        for arg in node.all_input_nodes:
            last_use[arg] = i
    owner: dict[torch.fx.Node, torch.fx.Node] = {}  # a view's memory belongs to the node it views
    size: dict[torch.fx.Node, int] = {}
    live = peak = largest = io = 0
    alive: dict[torch.fx.Node, int] = {}  # owner -> index of its last (transitive) reader
    for node in nodes:
        if node.op == "placeholder" and node.name not in params:
            size[node] = _bytes(node.meta.get("val"))
            io += size[node]
    for i, node in enumerate(nodes):
        if node.op == "output":
            io += sum(size.get(owner.get(a, a), 0) for a in node.all_input_nodes)
            break
        if node.op == "placeholder" and node.name in params:
            continue
        name = getattr(node.target, "__name__", str(node.target)).split(".")[0]
        if node.op == "call_function" and name in _VIEW_OPS and node.all_input_nodes:
            base = owner.get(node.all_input_nodes[0], node.all_input_nodes[0])
            owner[node] = base
            if base in alive:
                alive[base] = max(alive[base], last_use.get(node, i))
            continue
        if node.op not in ("placeholder", "call_function"):
            continue
        nbytes = size.get(node) or _bytes(node.meta.get("val"))
        size[node] = nbytes
        alive[node] = last_use.get(node, len(nodes))
        live += nbytes
        largest = max(largest, nbytes)
        peak = max(peak, live)
        for done in [n for n, last in alive.items() if last <= i]:
            live -= size[done]
            del alive[done]
    return {"floor_bytes": int(peak), "io_bytes": int(io), "largest_bytes": int(largest), "nodes": len(nodes)}


def planned_pte_bytes(path: str | Path) -> int:
    """Bytes of the memory ExecuTorch plans for the .pte's method (its mutable arena: inputs, output and every
    activation that runs outside a delegate; a delegate such as XNNPACK plans its own workspace at load)."""
    from executorch.exir._serialize._program import deserialize_pte_binary  # no public reader in 1.4.1

    pte = deserialize_pte_binary(Path(path).read_bytes())
    plan = getattr(pte, "program", pte).execution_plan[0]
    return int(sum(plan.non_const_buffer_sizes))
