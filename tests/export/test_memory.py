"""The liveness floor (k3dn.export.memory): exact bytes on small graphs, and the shipped graph's slices die young."""

from __future__ import annotations

import torch
from torch import nn

from k3dn.export.memory import liveness_floor
from k3dn.network.blocks import shifted_views

MB = 4 * 16 * 16  # bytes of one 1 x 1 x 16 x 16 float32 map


class Chain(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        x = a + b          # a, b, x live: 3 maps
        y = x * 2.0        # a, b die after x; x, y live
        return y - 1.0     # y, out live


class Windows(nn.Module):
    """Four shifted windows, each multiplied and summed: the generator keeps one window alive at a time."""

    def __init__(self, lazy: bool) -> None:
        super().__init__()
        self.lazy = lazy

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        views = shifted_views(b, [(0, -1), (0, 1), (-1, 0), (1, 0)])
        views = views if self.lazy else list(views)
        out = a * 0.0
        for v in views:
            out = out + a * v
        return out


def test_a_chain_keeps_three_maps_at_most() -> None:
    x = torch.zeros(1, 1, 16, 16)
    floor = liveness_floor(Chain(), (x, x))
    assert floor["floor_bytes"] == 3 * MB and floor["io_bytes"] == 3 * MB and floor["largest_bytes"] == MB


def test_slices_count_as_copies_and_lazy_windows_keep_the_floor_low() -> None:
    x = torch.zeros(1, 1, 16, 16)
    lazy, eager = (liveness_floor(Windows(lazy), (x, x))["floor_bytes"] for lazy in (True, False))
    assert eager - lazy > MB  # the list kept all four window copies alive at once (XNNPACK copies slices)
