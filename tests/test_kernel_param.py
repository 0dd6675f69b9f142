"""Issue 18 item 1: the kernel set's log-magnitude bound, the PSF gain forms, and the exact loading /
conversion of the first shipped weights."""

from __future__ import annotations

import math

import numpy as np
import torch

import k3dn
from k3dn.convert import to_multiply_gain
from k3dn.data import TrainDataset
from k3dn.kernels import KernelSet, soft_bound, soft_bound_inverse
from k3dn.weights_io import PRETRAINED, read_weights

LOG_MIN = math.log(0.05)


def test_soft_bound_is_bounded_invertible_and_never_flat() -> None:
    t = torch.linspace(-20, 20, 2001, dtype=torch.float64, requires_grad=True)
    y = soft_bound(t, LOG_MIN)
    assert float(y.min()) > LOG_MIN and float(y.max()) < 0
    y.sum().backward()
    assert float(t.grad.min()) > 0  # strictly increasing: a gradient everywhere
    inner = torch.linspace(0.999 * LOG_MIN, -1e-4, 500, dtype=torch.float64)
    np.testing.assert_allclose(soft_bound(soft_bound_inverse(inner, LOG_MIN), LOG_MIN), inner, atol=1e-12)


def test_a_fresh_kernel_set_starts_where_its_bound_has_slope() -> None:
    ks = KernelSet(128, 9)
    t = ks.log_mag.detach().clone().requires_grad_(True)
    soft_bound(t, ks.log_min).sum().backward()
    slope = t.grad[:, ks.not_dc.bool()]
    # The first parameterisation started 36 % of entries at a slope of ~1e-4.
    assert float((slope < 1e-2).float().mean()) < 0.05, f"{float((slope < 1e-2).float().mean()):.3f} of entries flat"


def test_the_first_shipped_file_loads_its_exact_kernel_spectrum() -> None:
    state, _ = read_weights(PRETRAINED["tiny"])
    assert "kernels.w_re" in state, "the shipped file is no longer the legacy one: retire this test"
    model = k3dn.load_pretrained("tiny")
    assert model.config.psf_gain == "divide"
    from k3dn.kernels import _symmetrize

    re, _ = _symmetrize(state["kernels.w_re"].double(), state["kernels.w_im"].double())
    legacy = (LOG_MIN * torch.sigmoid(re)) * model.kernels.not_dc.double()
    np.testing.assert_allclose(model.kernels.log_spectrum()[0].double().detach(), legacy, atol=1e-5)


def test_divide_to_multiply_conversion_keeps_the_output() -> None:
    model = k3dn.load_pretrained("tiny")
    gen = torch.Generator().manual_seed(0)
    left = torch.rand(1, 3, 64, 64, generator=gen)
    right = (left + 0.02 * torch.rand(1, 3, 64, 64, generator=gen)).clamp(0, 1)
    converted = to_multiply_gain(model, left, right).eval()
    assert converted.config.psf_gain == "multiply"
    with torch.no_grad():
        a, b = model(left, right), converted(left, right)
    # Exact where N a is constant over space; the shipped model's varies by ~2 %.
    assert float((a - b).abs().max()) < 0.02
    assert float((a - b).abs().mean()) < 1e-3


def test_multiply_gain_weights_the_selected_kernel_up() -> None:
    model = k3dn.create("tiny")
    a = torch.softmax(torch.randn(1, 128, 4, 4), dim=1)
    h = model.psf.deblur_gain(a)
    top = a.argmax(dim=1, keepdim=True)
    assert bool((h.gather(1, top) >= h.mean(dim=1, keepdim=True)).all())
    legacy = k3dn.create("tiny", psf_gain="divide").psf.deblur_gain(a)
    assert bool((legacy.gather(1, top) <= legacy.mean(dim=1, keepdim=True)).all())


def test_mild_items_have_small_blur_and_leave_the_others_unchanged() -> None:
    plain, mixed = TrainDataset(patch=32, seed=3), TrainDataset(patch=32, seed=3, mild_prob=0.5)
    mild = 0
    for i in range(12):
        p, m = plain.sample(i), mixed.sample(i)
        if np.array_equal(p["left"], m["left"]):
            continue
        mild += 1
        assert float(np.abs(m["radius"]).max()) <= 1.5 + 1e-6
    assert 2 <= mild <= 10
