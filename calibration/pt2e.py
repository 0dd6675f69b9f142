"""PT2E static quantization shared by the ExecuTorch (XNNPACK quantizer) and TFLite (litert-torch quantizer)
recipes: export -> prepare -> calibrate once -> convert with any set of layers kept in float.

A *layer* is the innermost module that owns an op (`encoder.level0.0`, `srp.phi_q`, ...); ops of
LoweredK3DN's own forward/gain (the kernel-query channel softmax, nearest upsampling, N*a clip, the
division by g(a), the mean view, the output clamp) form the layer `top`. Data-movement ops (reshape,
transpose, pad, slice) belong to the layer of the tensor they move, so a layer's quantization covers
the pad + slices of the SRP attention that read its output.

Calibration runs once, with every observer in place (observers only watch: the calibrated graph is
still the float model). `Calibrated.convert(float_layers)` then drops the observers of the layers kept
in float and converts: a layer-by-layer sensitivity analysis costs one conversion per layer, no
recalibration, and the artifact of the chosen mix uses exactly the ranges the analysis measured.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from k3dn.export.common import example_args

ROOT_LAYER = "top"
Q_KEY = "quantization_annotation"
_MOVES = {"reshape", "view", "transpose", "permute", "slice", "pad", "constant_pad_nd", "squeeze", "unsqueeze",
          "flatten", "expand", "clone", "contiguous", "_to_copy", "alias"}


def op_name(node: torch.fx.Node) -> str:
    """'conv2d' for aten.conv2d.default, etc."""
    target = getattr(node.target, "__name__", str(node.target))
    return target.split(".")[0]


def is_move(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and op_name(node) in _MOVES


def _own_layer(node: torch.fx.Node, root: str) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    path = list(stack.values())[-1][0] if stack else ""
    path = path.removeprefix("L['self'].")
    if root and (path == root or path.startswith(root + ".")):
        path = path[len(root) + 1:]
    return path or ROOT_LAYER


def assign_layers(graph: torch.fx.Graph, root: str = "") -> dict[torch.fx.Node, str]:
    """Layer of every call_function node (data-movement ops inherit the layer of their input).

    root: the attribute path of the LoweredK3DN inside a wrapper module ('model' for litert-torch's
    named-output wrapper), stripped from every layer name.
    """
    layers: dict[torch.fx.Node, str] = {}
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        src = node.args[0] if node.args and isinstance(node.args[0], torch.fx.Node) else None
        own = _own_layer(node, root)
        layers[node] = layers.get(src, own) if is_move(node) and src is not None else own
    return layers


def share_data_movement(model: torch.fx.GraphModule) -> None:
    """Annotate pad and slice ops that read a quantized tensor as sharing its qparams.

    Neither quantizer annotates them. XNNPACK 1.4.1 then fails at load time on a float pad/slice fed by a
    dequantize (`Failed to create StaticConstantPad node ... invalid_parameter`), and the TFLite converter
    rejects a PAD whose input and output scales differ: the SRP attention's zero pad + s^2 slices and the
    cost volume's pad would break both. Sharing the input's qparams
    keeps them in int8 (zero padding is exact: 0.0 is a representable value of every affine scale).
    """
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, SharedQuantizationSpec

    for node in model.graph.nodes:
        if node.op != "call_function" or op_name(node) not in ("pad", "constant_pad_nd", "slice"):
            continue
        src = node.args[0]
        ann = src.meta.get(Q_KEY) if isinstance(src, torch.fx.Node) else None
        if ann is None or ann.output_qspec is None or Q_KEY in node.meta:
            continue
        node.meta[Q_KEY] = QuantizationAnnotation(
            input_qspec_map={src: SharedQuantizationSpec(src)}, output_qspec=SharedQuantizationSpec(src),
            _annotated=True)


def export_graph(module: torch.nn.Module, example_inputs: tuple[torch.Tensor, ...]) -> torch.fx.GraphModule:
    """The pre-autograd ATen graph PT2E quantizers annotate (static shapes of `example_inputs`).

    A module called twice (the disparity feature extractor runs on both views) gives two convs that read
    one weight node; both quantizers skip a conv whose weight node is already annotated, which would leave
    the second call float with an int8 weight (XNNPACK: `Failed to create convolution node`). Every extra
    reader gets its own get_attr node of the same parameter, so each call is annotated on its own.
    """
    graph_module = torch.export.export(module.eval(), example_args(example_inputs), strict=False).module()
    graph = graph_module.graph
    for node in [n for n in graph.nodes if n.op == "get_attr" and len(n.users) > 1]:
        for user in list(node.users)[1:]:
            with graph.inserting_after(node):
                copy_ = graph.get_attr(node.target)
            copy_.meta = dict(node.meta)
            user.replace_input_with(node, copy_)
    graph.lint()
    graph_module.recompile()
    return graph_module


class Calibrated:
    """A prepared (observed) graph after calibration; `convert(float_layers)` gives a quantized graph module."""

    def __init__(self, prepared: torch.fx.GraphModule, output_key: str | None = None, root: str = "") -> None:
        self.prepared = prepared
        self.output_key = output_key  # the graph returns a dict (litert-torch's named outputs)
        self.root = root
        self.node_layers = assign_layers(prepared.graph, root)
        self.layers = sorted({self.node_layers[n] for n in prepared.graph.nodes
                              if n in self.node_layers and Q_KEY in n.meta and not is_move(n)
                              and op_name(n) not in ("getitem",)})

    def convert(self, float_layers: Iterable[str] = (), fold_quantize: bool = True) -> torch.fx.GraphModule:
        """Quantized graph module (q/dq + float ops) with the layers in `float_layers` left in float."""
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

        keep_float = set(float_layers)
        unknown = keep_float - set(self.layers) - {ROOT_LAYER}
        if unknown:
            raise ValueError(f"unknown layers {sorted(unknown)}")
        model = copy.deepcopy(self.prepared)
        if keep_float:
            node_layers = assign_layers(model.graph, self.root)
            for node in list(model.graph.nodes):
                if node.op != "call_module" or not node.target.startswith("activation_post_process"):
                    continue
                served = {node_layers[n] for n in (node.args[0], *node.users)
                          if isinstance(n, torch.fx.Node) and n in node_layers}
                if served and served <= keep_float:
                    node.replace_all_uses_with(node.args[0])
                    model.graph.erase_node(node)
                elif node.args[0].op == "placeholder":
                    # A float op reads the graph input itself, not a q/dq copy; this also keeps a
                    # converter from turning the input into an int8 tensor (the I/O contract is float32).
                    for user in [u for u in node.users if node_layers.get(u) in keep_float]:
                        user.replace_input_with(node, node.args[0])
            model.graph.lint()
            model.recompile()
        return convert_pt2e(model, fold_quantize=fold_quantize)

    def runner(self, module: torch.fx.GraphModule) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """numpy (left, right) -> sharp through a converted graph module, simulated in eager PyTorch."""

        def run(left: np.ndarray, right: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                out = module(torch.from_numpy(left), torch.from_numpy(right))
            return (out[self.output_key] if self.output_key else out).numpy()

        return run


def calibrate(model: torch.nn.Module, quantizer, inputs: Sequence[tuple[np.ndarray, np.ndarray]],
              desc: str = "calibrating", output_key: str | None = None, root: str = "",
              annotate_hook: Callable[[torch.fx.GraphModule], None] | None = None, progress: bool = True) -> Calibrated:
    """Export `model` at the shape of `inputs`, prepare with `quantizer`, run every input through the observers."""
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e

    example = tuple(torch.from_numpy(x) for x in inputs[0])
    graph = export_graph(model, example)
    if annotate_hook is not None:
        annotate = quantizer.annotate

        def annotate_then_hook(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
            gm = annotate(gm)
            annotate_hook(gm)
            return gm

        quantizer.annotate = annotate_then_hook
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        for left, right in tqdm(inputs, desc=desc, unit="input", disable=not progress, leave=False):
            prepared(torch.from_numpy(left), torch.from_numpy(right))
    return Calibrated(prepared, output_key, root)
