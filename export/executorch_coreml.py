"""ExecuTorch with the CoreML delegate (Apple Neural Engine / GPU / CPU chosen by CoreML) -> .coreml.pte.

The same torch.export -> constant propagation route as the XNNPACK .pte, partitioned by ExecuTorch's
CoreMLPartitioner into an ML program compiled with fp16 compute and the deployment target of k3dn.export.coreml
(iOS 16). It is the ExecuTorch way to reach the Neural Engine from one runtime on iOS; the .mlpackage export
(k3dn.export.coreml) is the CoreML-native way. The audit reads the .pte's execution plan: one CoreMLBackend call
and no kernel outside it. Running it needs ExecuTorch on macOS/iOS: the parity check is skipped elsewhere with
that reason; its fp16 numerics are checked in PyTorch float16 by `k3dn fp16-check`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from k3dn.backends import BACKENDS as TABLE

from .common import GraphAudit, as_lowered, require
from .coreml import DEPLOYMENT_TARGET
from .executorch import audit_pte, write_pte
from .lower import with_transposed_convs

BACKEND = "executorch-coreml"
REQUIRES = ("executorch", "coremltools")
SUFFIX = TABLE[BACKEND].suffix
PRECISION = "fp16"


def export_executorch_coreml(model: torch.nn.Module, example_inputs: tuple[torch.Tensor, torch.Tensor],
                             out: str | Path) -> Path:
    """Export `model` (a K3DN, lowered here, or a LoweredK3DN) at the static shape of `example_inputs` to a
    CoreML-delegated `out` (.coreml.pte, fp16 compute, float32 I/O), written atomically."""
    require(BACKEND, REQUIRES)
    import coremltools as ct
    from executorch.backends.apple.coreml.compiler import CoreMLBackend
    from executorch.backends.apple.coreml.partition import CoreMLPartitioner

    specs = CoreMLBackend.generate_compile_specs(compute_precision=ct.precision.FLOAT16,
                                                 minimum_deployment_target=getattr(ct.target, DEPLOYMENT_TARGET))
    # The k2 s2 upsamplers as conv_transpose (a Neural Engine op), as in the .mlpackage export.
    module = with_transposed_convs(as_lowered(model))
    return write_pte(module, example_inputs, out, CoreMLPartitioner(compile_specs=specs))


def audit_executorch_coreml(path: str | Path) -> GraphAudit:
    """Delegate calls to CoreMLBackend and kernel calls left outside it (none allowed)."""
    return audit_pte(path, BACKEND, TABLE[BACKEND].delegate)
