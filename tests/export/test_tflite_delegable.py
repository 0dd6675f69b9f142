"""The float .tflite rewrite (k3dn.export.tflite_delegable): no op LiteRT's XNNPACK delegate leaves out, same output."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from torch import nn

from k3dn.export.tflite_delegable import FAN_IN

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("litert_torch", "ai_edge_litert")),
    reason="litert-torch / ai-edge-litert not installed")


class WideCatAndUpsample(nn.Module):
    """A 9-way channel concatenation and a nearest upsample (the product with ones the converter turns into
    BROADCAST_TO), the two shapes that split K3DN-Tiny's delegated graph."""

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> dict[str, torch.Tensor]:
        from k3dn.network.blocks import nearest_upsample

        maps = torch.cat([left * float(i) + right for i in range(9)], dim=1)
        small = nn.functional.avg_pool2d(maps.sum(dim=1, keepdim=True), 2)
        return {"sharp": left + nearest_upsample(small, 2).expand(-1, 3, -1, -1) * 0.01}


def _ops(path) -> list[tuple[str, int]]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return [(names[max(c.builtinCode, c.deprecatedBuiltinCode)], len(op.inputs))
            for op in model.subgraphs[0].operators for c in [model.operatorCodes[op.opcodeIndex]]]


def test_float_tflite_has_no_wide_concatenation_or_broadcast_and_the_same_output(tmp_path) -> None:
    from k3dn.camera.runners import open_runner
    from k3dn.export.tflite import write_tflite

    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    path = write_tflite(WideCatAndUpsample().eval(), x, tmp_path / "m.tflite")
    ops = _ops(path)
    assert not [op for op in ops if op[0] == "BROADCAST_TO"], ops
    assert max(n for name, n in ops if name == "CONCATENATION") <= FAN_IN
    with open_runner(path, verify=False) as run:
        out = run(x[0].numpy(), x[1].numpy())
    expected = WideCatAndUpsample()(*x)["sharp"].numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
