"""Parameter and multiply-accumulate counts, as the paper reports them (Table 1)."""

from __future__ import annotations

import copy

import torch
from torch.utils.flop_counter import FlopCounterMode

from .model import K3DN

PAPER_SIZE = (1120, 1680)


def count_params(model: torch.nn.Module) -> int:
    """Trainable parameters (what the paper's 'Params (M)' counts)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: K3DN, size: tuple[int, int] = PAPER_SIZE) -> int:
    """Multiply-accumulates of one inference at `size`, by torch.utils.flop_counter.

    Convention: torch's counter reports FLOPs = 2 x MACs for conv/matmul and counts only those ops
    (element-wise ops, softmax and the FFT of the kernel set are not counted) - the same convention
    as the ptflops/thop counters behind the paper's 'Flops (G)'. We return its total / 2.
    The count runs on the meta device, so no memory or compute is spent.
    """
    meta = copy.deepcopy(model).to("meta").eval()
    h, w = size
    x = torch.empty(1, 3, h, w, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta._deblur(x, x)
    return counter.get_total_flops() // 2

