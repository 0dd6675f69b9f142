"""XNNPACK's activation arena: a model of its memory planner, and a value order that the planner packs well.

XNNPACK (memory-planner.c, the version ExecuTorch 1.4.1 and LiteRT link) plans one workspace for every internal
tensor and every operator's scratch (a transient indirection buffer): tensors sorted by size, largest first, each
placed at the end of the smallest fitting gap *between* the blocks already placed whose lifetimes overlap it, else
after the last of them. It never uses the space below the lowest overlapping block, and a tensor overlapping one
block goes right above it, so a chain of equal-size full-resolution maps climbs: each lands above its predecessor.
Ties in size keep the order of the value ids (glibc's qsort is a stable merge sort), and ExecuTorch's XNNPACK
runtime numbers values in the order the .pte lists them. So the order of `XNNGraph.xvalues` decides how high the
arena climbs, with no change to any op or number: K3DN-Tiny's arena as exported was 2.2x the packing floor.

`plan_bytes` replays the planner (in-place reuse of single-consumer elementwise outputs included; scratch
estimated as a pointer per output pixel and kernel tap for k > 1 convolutions); `arena_friendly_order` tries the
stored order, a few orders by lifetime, and seeded shuffles, and keeps the smallest plan. Measured against
heaptrack's `xnn_plan_memory` allocation (K3DN-Tiny, 256x256): model 62.0 MB, XNNPACK 65.0 MB.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
from collections import Counter

# Node types XNNPACK may run in place (runtime.c, optimize_tensor_allocation_for_in_place_operations), as named
# by ExecuTorch's XNNPACK schema.
IN_PLACE = {"XNNAbs", "XNNAdd", "XNNCeiling", "XNNClamp", "XNNDiv", "XNNELU", "XNNFloor", "XNNHardswish",
            "XNNLeakyReLU", "XNNMaximum2", "XNNMinimum2", "XNNMultiply", "XNNNegate", "XNNPReLU", "XNNSigmoid",
            "XNNSoftmax", "XNNSquare", "XNNSquareRoot", "XNNSquaredDifference", "XNNStaticReshape", "XNNSubtract",
            "XNNCopy"}
SHUFFLES = 48  # seeded random orders tried after the lifetime orders (~50 ms each for K3DN-Tiny's 557 nodes)
SEED = 0
_NOT_EXTERNAL = 0xFFFFFFFF


def _tensor(value):
    t = value.xvalue_union
    return getattr(t, "tensor_value", t)


def _io(node) -> tuple[list[int], list[int]]:
    """Value ids a node reads and writes, from its schema fields (`*_id`, `*_ids`)."""
    u = node.xnode_union
    ins: list[int] = []
    outs: list[int] = []
    for f in dataclasses.fields(u):
        val = getattr(u, f.name)
        side = outs if f.name.startswith("output") else ins
        if f.name.endswith("_id") and isinstance(val, int):
            side.append(val)
        elif f.name.endswith("_ids") and isinstance(val, list):
            side.extend(val)
    return ins, outs


def _scratch(node, dims: dict[int, list[int]]) -> int:
    """Bytes of a convolution's transient indirection buffer: one pointer per output pixel and kernel tap."""
    u = node.xnode_union
    kernel = getattr(u, "kernel_height", 1) * getattr(u, "kernel_width", 1)
    if kernel <= 1 or getattr(u, "output_id", None) not in dims:
        return 0
    out = dims[u.output_id]
    return math.prod(out[1:3]) * kernel * 8 if len(out) == 4 else 0


@dataclasses.dataclass
class _Records:
    """The planner's usage records (bytes, first node, last node, value id) before sorting."""

    values: list[tuple[int, int, int, int]]
    scratch: list[tuple[int, int, int]]


def _records(graph) -> _Records:
    tensors = [_tensor(v) for v in graph.xvalues]
    dims = {t.id_out: list(t.dims) for t in tensors}
    size = {t.id_out: math.prod(t.dims) * _itemsize(t) for t in tensors
            if t.constant_buffer_idx == 0 and t.external_id == _NOT_EXTERNAL}
    nodes = [(type(n.xnode_union).__name__, *_io(n)) for n in graph.xnodes]
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    consumers: dict[int, list[int]] = {}
    for k, (_, ins, outs) in enumerate(nodes):
        for i in (*ins, *outs):
            if i in size:
                first.setdefault(i, k)
                last[i] = k
        for i in ins:
            consumers.setdefault(i, []).append(k)
    reused: dict[int, int] = {}  # output -> the input whose memory it takes
    for name, ins, outs in nodes:
        if name not in IN_PLACE or not outs or outs[0] not in size or len(consumers.get(outs[0], ())) != 1:
            continue
        out = outs[0]
        src = next((i for i in ins if i in size and len(consumers.get(i, ())) == 1 and size[i] == size[out]), None)
        if src is None:
            continue
        while src in reused:
            src = reused[src]
        reused[out] = src
        last[src] = consumers[out][0]
    values = [(size[i], first[i], last[i], i) for i in size if i not in reused and i in first]
    scratch = [(b, k, k) for k, n in enumerate(graph.xnodes) if (b := _scratch(n, dims))]
    return _Records(values, scratch)


def _itemsize(t) -> int:
    # XNNDatatype: 1 fp32, 2 fp16, 3-6 and the per-channel/dynamic kinds are 8-bit (int32 biases are constants)
    return {1: 4, 2: 2}.get(int(t.datatype), 1)


def _place(records: list[tuple[int, int, int]]) -> int:
    """memory-planner.c's placement for records already in the planner's order; returns the arena's bytes."""
    placed: list[tuple[int, int, int, int]] = []
    top = 0
    for size, a, b in records:
        blocks = sorted((o, o + s) for o, s, pa, pb in placed if pa <= b and a <= pb)
        if not blocks:
            offset = 0
        elif len(blocks) == 1:
            offset = blocks[0][1]
        else:
            merged = [list(blocks[0])]
            for lo, hi in blocks[1:]:
                if lo > merged[-1][1]:
                    merged.append([lo, hi])
                else:
                    merged[-1][1] = max(merged[-1][1], hi)
            best, smallest = len(merged) - 1, None
            for i in range(len(merged) - 1):
                gap = merged[i + 1][0] - merged[i][1]
                if gap >= size and (smallest is None or gap < smallest):
                    best, smallest = i, gap
            offset = merged[best][1]
        placed.append((offset, size, a, b))
        top = max(top, offset + size)
    return top


def _plan(records: _Records, rank: dict[int, int]) -> int:
    values = sorted(records.values, key=lambda r: (-r[0], rank[r[3]]))
    # operator scratch records come after every value (ids num_values + node index), so they sort after equal sizes
    merged = sorted([(r[0], 0, r[1], r[2]) for r in values] + [(s, 1, a, b) for s, a, b in records.scratch],
                    key=lambda r: -r[0])
    return _place([(s, a, b) for s, _, a, b in merged])


def plan_bytes(graph, order: list[int] | None = None) -> int:
    """The arena XNNPACK plans for `graph` (an ExecuTorch `XNNGraph`) with its values defined in `order` (value
    ids; default: as listed)."""
    order = order or [_tensor(v).id_out for v in graph.xvalues]
    return _plan(_records(graph), {i: k for k, i in enumerate(order)})


def arena_friendly_order(graph) -> tuple[list[int], int, int]:
    """(order, planned bytes, bytes as listed): the value order with the smallest planned arena among the stored one,
    orders by lifetime and `SHUFFLES` seeded shuffles (deterministic)."""
    records = _records(graph)
    ids = [_tensor(v).id_out for v in graph.xvalues]
    span = {i: (a, b) for _, a, b, i in records.values}
    def key_long_late(i):
        a, b = span.get(i, (0, 0))
        return (a - b, -a)
    candidates = [ids, sorted(ids, key=key_long_late), sorted(ids, key=lambda i: span.get(i, (0, 0))[1])]
    rng = random.Random(SEED)
    for _ in range(SHUFFLES):
        shuffled = ids[:]
        rng.shuffle(shuffled)
        candidates.append(shuffled)
    planned = [(_plan(records, {i: k for k, i in enumerate(o)}), n) for n, o in enumerate(candidates)]
    best, n = min(planned)
    return candidates[n], best, planned[0][0]


def reorder_values(graph) -> tuple[int, int]:
    """Reorder `graph.xvalues` in place to `arena_friendly_order`; returns (planned bytes before, after)."""
    order, after, before = arena_friendly_order(graph)
    if after >= before:
        return before, before
    by_id = {_tensor(v).id_out: v for v in graph.xvalues}
    graph.xvalues[:] = [by_id[i] for i in order]
    return before, after


@contextlib.contextmanager
def packed_arena(plans: list[tuple[int, int]] | None = None, node_types: list[Counter] | None = None):
    """For the duration of one lowering, serialize every XNNPACK delegate graph with `reorder_values` applied;
    each graph's (before, after) planned bytes is appended to `plans`, and the count of its node types
    (`XNNConv2d`, `XNNConvert`, ...; a float op between converts is a float island) to `node_types`."""
    import executorch.backends.xnnpack.xnnpack_preprocess as preprocess

    original = preprocess.serialize_xnnpack_binary

    def serialize(graph, *args, **kwargs):
        result = reorder_values(graph)
        if plans is not None:
            plans.append(result)
        if node_types is not None:
            node_types.append(Counter(type(n.xnode_union).__name__ for n in graph.xnodes))
        return original(graph, *args, **kwargs)

    preprocess.serialize_xnnpack_binary = serialize
    try:
        yield
    finally:
        preprocess.serialize_xnnpack_binary = original
