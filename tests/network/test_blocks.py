"""The export-friendly building blocks compute exactly what their textbook forms compute."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from k3dn.network.blocks import block_mean, channel_sum, nearest_upsample, shifted_views, softmax_channels
from k3dn.network.srp import local_attention


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_nearest_upsample_equals_repeat(factor: int) -> None:
    x = torch.randn(2, 5, 3, 4, generator=torch.Generator().manual_seed(factor))
    expected = x.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)
    assert torch.equal(nearest_upsample(x, factor), expected)


def test_softmax_channels_equals_softmax_over_dim1() -> None:
    x = torch.randn(2, 7, 3, 5, generator=torch.Generator().manual_seed(0)) * 4
    torch.testing.assert_close(softmax_channels(x), torch.softmax(x, dim=1), rtol=0, atol=1e-7)


def test_channel_sum_and_block_mean() -> None:
    x = torch.randn(2, 6, 8, 10, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(channel_sum(x), x.sum(1, keepdim=True), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(block_mean(x, 2), F.avg_pool2d(x, 2), rtol=1e-5, atol=1e-6)


def test_shifted_views_are_zero_filled_shifts() -> None:
    x = torch.arange(1.0, 21.0).reshape(1, 1, 4, 5)
    (right, down) = shifted_views(x, [(0, 2), (1, 0)])
    assert torch.equal(right[0, 0, :, :3], x[0, 0, :, 2:]) and (right[0, 0, :, 3:] == 0).all()
    assert torch.equal(down[0, 0, :3], x[0, 0, 1:]) and (down[0, 0, 3] == 0).all()


def test_local_attention_equals_unfold_reference() -> None:
    """Eq. 11: O_B[k] = <q(p), key(p + offset_k)> / sqrt(C), against an im2col implementation."""
    g = torch.Generator().manual_seed(2)
    q, k = torch.randn(2, 2, 6, 7, 9, generator=g)
    s = 3
    ref = (q.unsqueeze(2) * F.unfold(k, s, padding=s // 2).view(2, 6, s * s, 7, 9)).sum(1) / 6**0.5
    torch.testing.assert_close(local_attention(q, k, s), ref, rtol=1e-5, atol=1e-5)
