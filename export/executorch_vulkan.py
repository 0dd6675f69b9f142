"""ExecuTorch Vulkan (mobile GPU): the XNNPACK route with VulkanPartitioner -> .vulkan.pte, fp32 or fp16.

`force_fp16` makes the delegate store weights and compute in float16 (half the file, the GPU's fast path); its
numerics are checked in PyTorch float16 by `k3dn fp16-check` (k3dn.calibration.fp16), since no Vulkan runtime
runs here. The audit is the .pte's own execution plan: one VulkanBackend call and no kernel outside it.
Running the artifact needs an ExecuTorch build with the Vulkan backend (Android, or Linux with a Vulkan GPU):
the pip runtime registers none, so the parity check is skipped with that reason.
"""

from __future__ import annotations

from pathlib import Path

import torch

from k3dn.backends import BACKENDS as TABLE

from .common import GraphAudit, as_lowered, require
from .executorch import audit_pte, write_pte

BACKEND = "executorch-vulkan"
REQUIRES = ("executorch",)
SUFFIX = TABLE[BACKEND].suffix
PRECISION = "fp32"
PRECISIONS = TABLE[BACKEND].precisions  # `k3dn export` writes both


def export_executorch_vulkan(model: torch.nn.Module, example_inputs: tuple[torch.Tensor, torch.Tensor],
                             out: str | Path, precision: str = PRECISION) -> Path:
    """Export `model` (a K3DN, lowered here, or a LoweredK3DN) at the static shape of `example_inputs` to a
    Vulkan-delegated `out` (.vulkan.pte, `forward(left, right) -> sharp`, float32 I/O), `precision` 'fp32' or
    'fp16' (force_fp16), written atomically."""
    require(BACKEND, REQUIRES)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    from executorch.backends.vulkan.partitioner.vulkan_partitioner import VulkanPartitioner

    return write_pte(as_lowered(model), example_inputs, out, VulkanPartitioner({"force_fp16": precision == "fp16"}))


def audit_executorch_vulkan(path: str | Path) -> GraphAudit:
    """Delegate calls to VulkanBackend and kernel calls left outside it (none allowed)."""
    return audit_pte(path, BACKEND, TABLE[BACKEND].delegate)
