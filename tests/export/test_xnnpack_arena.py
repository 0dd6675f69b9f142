"""The XNNPACK arena model (k3dn.export.xnnpack_arena): value order changes the planned arena, never the numbers."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from k3dn.export.xnnpack_arena import _place

pytestmark = pytest.mark.skipif(importlib.util.find_spec("executorch") is None, reason="executorch not installed")


def test_the_planner_model_climbs_a_chain_in_program_order_and_packs_it_interleaved() -> None:
    # four equal maps, each alive with its neighbours only (a -> b -> c -> d), 1 unit each
    chain = [(1, 0, 1), (1, 1, 2), (1, 2, 3), (1, 3, 4)]
    assert _place(chain) == 4  # each lands right above the one it overlaps (memory-planner.c never looks below)
    assert _place([chain[0], chain[2], chain[1], chain[3]]) == 2  # a, c at 0; b, d above them


class Chain(nn.Module):
    """3x3 convs and activations at one resolution: equal-size maps in a chain, the shape that made the arena climb."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.convs = nn.ModuleList(nn.Conv2d(8, 8, 3, padding=1) for _ in range(6))
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.tail = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        x = self.head(a + b)
        skip = x
        for conv in self.convs:
            x = nn.functional.leaky_relu(conv(x), 0.1) + x
        return self.tail(x + skip)


def test_reordered_values_plan_no_larger_and_run_the_same(tmp_path) -> None:
    import k3dn.export.executorch as ex
    from k3dn.camera.runners import open_runner

    plans: list[tuple[int, int]] = []
    original = ex.packed_arena
    ex.packed_arena = lambda **kwargs: original(plans, **kwargs)
    try:
        x = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
        path = ex.write_pte(Chain().eval(), x, tmp_path / "chain.pte")
    finally:
        ex.packed_arena = original
    (before, after), = plans
    assert 0 < after <= before
    with open_runner(path, verify=False) as run:
        out = run(x[0].numpy(), x[1].numpy())
    with torch.no_grad():
        expected = Chain().eval()(*x).numpy()
    assert abs(out - expected).max() < 1e-5
