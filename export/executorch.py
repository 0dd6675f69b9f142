"""ExecuTorch: torch.export -> constant propagation -> to_edge_transform_and_lower(XnnpackPartitioner)
-> .pte, every compute op inside the XNNPACK delegate.

Constant propagation runs first because k3dn/network/blocks.py builds its constant weights (the ones of
`channel_sum`, `nearest_upsample`, `block_mean`) inside forward: torch.export records them as
`aten.full`/`aten.ones` nodes, and XNNPACK only takes convolutions whose weights are constants, so
without folding 92 convolutions (81 of them in the SRP attention) would stay on portable kernels.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import torch

from k3dn.backends import BACKENDS as TABLE

from .common import GraphAudit, as_lowered, commit_path, example_args, require, temp_path
from .xnnpack_arena import packed_arena

REQUIRES = ("executorch",)
SUFFIX = TABLE["executorch"].suffix
PRECISION = "fp32"
# Non-delegated kernels the contract tolerates. None today: the .pte runs one XNNPACK delegate call
# and nothing else (the runtime copies the I/O tensors itself, which are not ops in the program).
ALLOWED_NON_DELEGATED: tuple[str, ...] = ()
# xnnpack.h: build a convolution's indirection buffer (one pointer per output pixel and kernel tap) in the shared
# workspace at each run instead of keeping one per operator for the program's life. At 1024x1024 the per-operator
# buffers of K3DN-Tiny's 3x3 and depthwise convs held 1.1 GB (measured: peak RSS 3.24 -> 2.16 GB, same output).
XNN_FLAG_TRANSIENT_INDIRECTION_BUFFER = 0x20


@contextlib.contextmanager
def _transient_indirection():
    """Serialize every XNNPACK convolution node with XNN_FLAG_TRANSIENT_INDIRECTION_BUFFER (the runtime passes a
    node's flags to xnn_define_convolution_2d). ExecuTorch 1.4.1 has no option for it, so the registered conv
    visitor is wrapped for the duration of one lowering and restored after."""
    import executorch.backends.xnnpack.operators  # noqa: F401 - registers the node visitors
    from executorch.backends.xnnpack.operators.node_visitor import _node_visitor_dict

    visitor = _node_visitor_dict["aten.convolution.default"]
    original = visitor.define_node

    def define_node(self, node, xnn_graph, *args, **kwargs):
        original(self, node, xnn_graph, *args, **kwargs)
        xnn_graph.xnodes[-1].xnode_union.flags |= XNN_FLAG_TRANSIENT_INDIRECTION_BUFFER

    visitor.define_node = define_node
    try:
        yield
    finally:
        visitor.define_node = original


def xnnpack_partitioner():
    """ExecuTorch's XnnpackPartitioner with every default config, except that LeakyReLU is also taken int8.

    ExecuTorch 1.4.1's `LeakyReLUConfig` declares fp32 only, so in a PT2E int8 graph every LeakyReLU (which
    sits between a dequantize and a quantize: no quantizer annotates it, so it keeps its neighbours' qparams)
    became a float island inside the delegate: convert to fp32, LeakyReLU, convert back. XNNPACK's own
    LeakyReLU takes qs8 input and output with their own scales, and ExecuTorch's node visitor passes the
    quantization of both tensors through, so accepting the static-quant pattern runs it as one int8 op
    (tests/calibration/test_quant_executorch_graph.py; speed and quality: benchmarks/et_int8_leaky.py).
    Float graphs lower exactly as before.
    """
    from executorch.backends.xnnpack.partition.config import ALL_PARTITIONER_CONFIGS
    from executorch.backends.xnnpack.partition.config.generic_node_configs import LeakyReLUConfig
    from executorch.backends.xnnpack.partition.config.xnnpack_config import ConfigPrecisionType
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    class Int8LeakyReLUConfig(LeakyReLUConfig):
        def supported_precision_types(self) -> list:
            return [ConfigPrecisionType.FP32, ConfigPrecisionType.STATIC_QUANT]

    configs = [Int8LeakyReLUConfig if c is LeakyReLUConfig else c for c in ALL_PARTITIONER_CONFIGS]
    if Int8LeakyReLUConfig not in configs:
        raise RuntimeError("ExecuTorch's XNNPACK partitioner configs no longer list LeakyReLUConfig")
    return XnnpackPartitioner(configs=configs)


def export_executorch(
    model: torch.nn.Module, example_inputs: tuple[torch.Tensor, torch.Tensor], out: str | Path
) -> Path:
    """Export `model` (a K3DN, lowered here, or a LoweredK3DN) at the static shape of `example_inputs`
    to an XNNPACK-delegated `out` (.pte, method `forward(left, right) -> sharp`), written atomically."""
    return write_pte(as_lowered(model), example_inputs, out)


def write_pte(module: torch.nn.Module, example_inputs: tuple[torch.Tensor, ...], out: str | Path,
              partitioner=None, node_types: list | None = None) -> Path:
    """torch.export `module` (float, or a PT2E-quantized graph module) -> constant propagation -> `partitioner`
    (default `xnnpack_partitioner()`; the GPU/NPU exporters pass theirs) -> `out` (.pte), written atomically.
    Each XNNPACK delegate graph's node-type counts are appended to `node_types` when given."""
    require("executorch", REQUIRES)
    from executorch.exir import to_edge_transform_and_lower
    from executorch.exir.passes.constant_prop_pass import _DEFAULT_SKIP_TARGETS, constant_prop_pass

    out = Path(out)
    # The program is still ATen here, so the pass's default skip list (edge ops) would not match the
    # dequantize ops of a PT2E graph: int8 weights would fold back into fp32 constants and the .pte keep
    # no int8. Quantize ops on constants (the ones weights built in forward) may fold: into int8 constants.
    dq = torch.ops.quantized_decomposed
    skip = set(_DEFAULT_SKIP_TARGETS) | {dq.dequantize_per_channel.default, dq.dequantize_per_tensor.default,
                                         dq.dequantize_per_tensor.tensor}
    program = constant_prop_pass(torch.export.export(module, example_args(example_inputs), strict=False),
                                 custom_skip_targets=skip)
    if partitioner is None:
        partitioner = xnnpack_partitioner()
    with _transient_indirection(), packed_arena(node_types=node_types):
        edge = to_edge_transform_and_lower(program, partitioner=[partitioner])
    buffer = edge.to_executorch().buffer
    tmp = temp_path(out)
    try:
        tmp.write_bytes(buffer)
        return commit_path(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def audit_executorch(path: str | Path) -> GraphAudit:
    """Read the .pte's execution plan: delegate calls vs kernel calls that run outside XNNPACK."""
    return audit_pte(path, "executorch", TABLE["executorch"].delegate, ALLOWED_NON_DELEGATED)


def audit_pte(path: str | Path, backend: str, delegate: str, allowed: tuple[str, ...] = ()) -> GraphAudit:
    """The delegation audit of a .pte, read from its execution plan: how many calls go to the `delegate`
    backend (id, e.g. 'VulkanBackend') and which kernel calls run outside it (none but `allowed` may)."""
    require(backend, REQUIRES)
    from executorch.exir._serialize._program import deserialize_pte_binary  # no public reader in 1.4.1
    from executorch.exir.schema import DelegateCall, KernelCall

    pte = deserialize_pte_binary(Path(path).read_bytes())
    program = getattr(pte, "program", pte)
    if len(program.execution_plan) != 1:
        names = [p.name for p in program.execution_plan]
        return GraphAudit(backend, {}, problems=[f"expected one method 'forward', got {names}"])
    plan = program.execution_plan[0]
    ops: Counter[str] = Counter()
    non_delegated: list[str] = []
    for chain in plan.chains:
        for instr in chain.instructions:
            args = instr.instr_args
            if isinstance(args, DelegateCall):
                ops[f"delegate:{plan.delegates[args.delegate_index].id}"] += 1
            elif isinstance(args, KernelCall):
                op = plan.operators[args.op_index]
                name = f"{op.name}.{op.overload}" if op.overload else op.name
                ops[name] += 1
                non_delegated.append(name)
    delegation = {"delegate": delegate, "delegate_calls": ops[f"delegate:{delegate}"],
                  "ops_outside": len(non_delegated), "outside": sorted(set(non_delegated))}
    audit = GraphAudit(
        backend, dict(ops), non_delegated=sorted(set(non_delegated)),
        details={"method": plan.name, "delegates": sorted({d.id for d in plan.delegates}),
                 "inputs": len(plan.inputs), "outputs": len(plan.outputs), "delegation": delegation},
    )
    stray = sorted(set(non_delegated) - set(allowed))
    if stray:
        audit.problems.append(f"{len(non_delegated)} kernel calls run outside {delegate}: {stray}")
    if not delegation["delegate_calls"]:
        audit.problems.append(f"no {delegate} delegate call in the program: {dict(ops)}")
    others = sorted(set(audit.details["delegates"]) - {delegate})
    if others:
        audit.problems.append(f"delegates other than {delegate} in the program: {others}")
    if (len(plan.inputs), len(plan.outputs)) != (2, 1):
        audit.problems.append(f"expected 2 inputs and 1 output, got {len(plan.inputs)} and {len(plan.outputs)}")
    return audit
