"""fp16 numerics of the exported graph, checked in PyTorch float16 on the evaluation set.

The fp16 targets (CoreML fp16, ExecuTorch CoreML delegate, ExecuTorch Vulkan fp16) run the lowered graph
(k3dn.export.lower) with float16 activations. Their runtimes do not run here, so this runs the same lowered
module in float16 in PyTorch, every aten op's output rounded to float16, and compares:

- the output against the float32 lowered model on the same pairs (PSNR, budget >= 45 dB, the parity budget of
  every fp16 artifact);
- the largest |activation| of every layer (op outputs attributed to the innermost module running them), in float32
  and in float16, against the float16 range (65504). Any non-finite float16 value, or a float32 peak above the
  range, is an overflow and fails the check.

What it cannot see: accumulators inside a kernel (a GPU that accumulates a convolution in float16 may round
differently than PyTorch's CPU kernels, which round the float32 result), and a delegate's own op fusions.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from k3dn.export.lower import lower
from k3dn.export.parity import psnr

FP16_MAX = float(torch.finfo(torch.float16).max)  # 65504
MIN_PSNR_DB = 45.0
# Targets whose artifacts compute in float16 (backend, precision): what this check stands for.
FP16_TARGETS = (("coreml", "fp16"), ("executorch-coreml", "fp16"), ("executorch-vulkan", "fp16"))
TOP = "(model)"  # ops the lowered module's own forward runs, outside any submodule


@dataclass
class LayerPeak:
    """Largest |value| a layer's ops produced over all pairs, in float32 and in float16, and whether any float16
    value was NaN or Inf."""

    layer: str
    fp32_max: float = 0.0
    fp16_max: float = 0.0
    nonfinite: bool = False

    @property
    def headroom(self) -> float:
        """How many times the float32 peak fits into the float16 range."""
        return math.inf if self.fp32_max == 0 else FP16_MAX / self.fp32_max


@dataclass
class Fp16Report:
    pairs: int
    size: tuple[int, int]
    psnr_db: list[float]
    layers: list[LayerPeak]
    min_psnr_db: float = MIN_PSNR_DB
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def worst_psnr(self) -> float:
        return min(self.psnr_db)

    @property
    def peak(self) -> LayerPeak:
        return max(self.layers, key=lambda p: p.fp32_max)

    def to_dict(self) -> dict:
        def num(x: float) -> float | str:  # JSON has no Infinity
            return round(x, 6) if math.isfinite(x) else str(x)

        layers = [{k: num(v) if isinstance(v, float) else v for k, v in {**asdict(p), "headroom": p.headroom}.items()}
                  for p in self.layers]
        return {"pairs": self.pairs, "size": list(self.size), "fp16_max": FP16_MAX, "min_psnr_db": self.min_psnr_db,
                "psnr_db": [num(d) for d in self.psnr_db], "worst_psnr_db": num(self.worst_psnr),
                "targets": [f"{b} {p}" for b, p in FP16_TARGETS], "passed": self.passed, "problems": self.problems,
                "layers": layers}


class _Peaks(TorchDispatchMode):
    """Records max |output| of every floating-point aten op under the innermost running module's name."""

    def __init__(self, stack: list[str], key: str, peaks: dict[str, LayerPeak]) -> None:
        super().__init__()
        self.stack, self.key, self.peaks = stack, key, peaks

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.is_floating_point() and t.numel():
                peak = self.peaks.setdefault(self.stack[-1], LayerPeak(self.stack[-1]))
                top = float(t.abs().max())  # one reduction: max propagates NaN, and an Inf is the max
                if not math.isfinite(top):
                    peak.nonfinite = peak.nonfinite or self.key == "fp16_max"
                    top = math.inf
                setattr(peak, self.key, max(getattr(peak, self.key), top))
        return out


def _run(module: torch.nn.Module, left: torch.Tensor, right: torch.Tensor, key: str,
         peaks: dict[str, LayerPeak]) -> torch.Tensor:
    stack = [TOP]

    def leave(*_) -> None:  # a forward hook that returned a value would replace the module's output
        stack.pop()

    hooks = []
    for name, sub in module.named_modules():
        if name:
            hooks.append(sub.register_forward_pre_hook(lambda _m, _a, n=name: stack.append(n)))
            hooks.append(sub.register_forward_hook(leave))
    try:
        with torch.no_grad(), _Peaks(stack, key, peaks):
            return module(left, right)
    finally:
        for h in hooks:
            h.remove()


def fp16_report(model: torch.nn.Module, items: Sequence[dict], min_psnr_db: float = MIN_PSNR_DB,
                progress: Callable[[str], None] | None = None) -> Fp16Report:
    """The lowered `model` (a K3DN) in float32 and in float16 on `items` (k3dn.data.make_eval_set pairs, whose
    size is a multiple of the network stride): output PSNR and per-layer peaks against the float16 range."""
    fp32 = lower(model).eval()
    fp16 = copy.deepcopy(fp32).half()
    peaks: dict[str, LayerPeak] = {}
    scores = []
    for i, item in enumerate(items, 1):
        left, right = (torch.from_numpy(np.ascontiguousarray(item[k].transpose(2, 0, 1)))[None].float()
                       for k in ("left", "right"))
        want = _run(fp32, left, right, "fp32_max", peaks)
        got = _run(fp16, left.half(), right.half(), "fp16_max", peaks)
        scores.append(psnr(got.float().numpy(), want.numpy()) if torch.isfinite(got).all() else -math.inf)
        if progress:
            progress(f"pair {i}/{len(items)}: fp16 vs fp32 PSNR {scores[-1]:.2f} dB")
    h, w = items[0]["left"].shape[:2]
    report = Fp16Report(len(items), (h, w), scores, sorted(peaks.values(), key=lambda p: -p.fp32_max), min_psnr_db)
    over = [p.layer for p in report.layers if p.nonfinite or p.fp32_max > FP16_MAX]
    if over:
        report.problems.append(f"float16 overflow (|x| > {FP16_MAX:g} or NaN/Inf) in {over}")
    if report.worst_psnr < min_psnr_db:
        report.problems.append(f"fp16 output PSNR {report.worst_psnr:.2f} dB against fp32 < {min_psnr_db:g} dB")
    return report


def format_report(report: Fp16Report, top: int = 12) -> str:
    """The `top` layers by float32 peak, then a one-line verdict."""
    lines = [f"{'layer':<40} {'fp32 max|x|':>12} {'fp16 max|x|':>12} {'headroom':>9}", "-" * 76]
    for p in report.layers[:top]:
        fp16 = "NaN/Inf" if p.nonfinite else f"{p.fp16_max:.4g}"
        lines.append(f"{p.layer[:40]:<40} {p.fp32_max:>12.4g} {fp16:>12} {p.headroom:>8.0f}x")
    if len(report.layers) > top:
        lines.append(f"... {len(report.layers) - top} more layers, all below {report.layers[top].fp32_max:.4g}")
    verdict = "PASS" if report.passed else "FAIL: " + "; ".join(report.problems)
    lines.append(f"fp16 check, {report.pairs} eval pairs {report.size[0]}x{report.size[1]}: PSNR vs fp32 worst "
                 f"{report.worst_psnr:.2f} dB (budget >= {report.min_psnr_db:g}), largest activation "
                 f"{report.peak.fp32_max:.4g} in {report.peak.layer} ({report.peak.headroom:.0f}x below {FP16_MAX:g}): "
                 f"{verdict}")
    return "\n".join(lines)
