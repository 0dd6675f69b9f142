"""Issue 18 item 1: the kernel set's log-magnitude bound, the PSF gain forms, and the exact loading /
conversion of the first shipped weights."""

from __future__ import annotations

import math

import numpy as np
import torch

import k3dn
from k3dn.data import TrainDataset
from k3dn.network.convert import to_multiply_gain
from k3dn.network.kernels import KernelSet, soft_bound, soft_bound_inverse
from k3dn.network.weights_io import load_weights, read_weights

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


def _legacy_file(path) -> str:
    """A file in the first shipped format: sigmoid logits `kernels.w_re` (clamped as that init was), and a
    config written before psf_gain existed (so it runs "divide")."""
    import json
    from dataclasses import asdict

    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = k3dn.create("tiny", psf_gain="divide")
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "kernels.log_mag"}
    state["kernels.w_re"] = (3 * torch.randn(model.kernels.log_mag.shape)).clamp(math.log(1e-4 / (1 - 1e-4)),
                                                                                 math.log(0.98 / 0.02))
    cfg = {k: v for k, v in asdict(model.config).items() if k != "psf_gain"}
    save_file(state, str(path), metadata={"config": json.dumps(cfg), "format": "k3dn-weights-v1", "arch": "k3dn"})
    return str(path)


def test_a_first_format_file_loads_its_exact_kernel_spectrum(tmp_path) -> None:
    path = _legacy_file(tmp_path / "legacy.safetensors")
    state, _ = read_weights(path)
    model = load_weights(path)
    assert model.config.psf_gain == "divide"
    from k3dn.network.kernels import _symmetrize

    re, _ = _symmetrize(state["kernels.w_re"].double(), state["kernels.w_im"].double())
    legacy = (LOG_MIN * torch.sigmoid(re)) * model.kernels.not_dc.double()
    np.testing.assert_allclose(model.kernels.log_spectrum()[0].double().detach(), legacy, atol=1e-5)


def test_divide_to_multiply_conversion_is_exact_where_the_query_is_constant_over_space() -> None:
    torch.manual_seed(0)
    model = k3dn.create("tiny", psf_gain="divide").eval()
    with torch.no_grad():  # W_r r = 0: a = softmax(W_v bias), the same at every pixel
        model.query.w_r.weight.zero_()
        model.query.w_r.bias.zero_()
        torch.nn.init.normal_(model.decoder.out.weight, std=0.05)  # a head that carries the PSF path's signal
    gen = torch.Generator().manual_seed(0)
    left = torch.rand(1, 3, 64, 64, generator=gen)
    right = (left + 0.02 * torch.rand(1, 3, 64, 64, generator=gen)).clamp(0, 1)
    converted = to_multiply_gain(model, left, right).eval()
    assert converted.config.psf_gain == "multiply"
    with torch.no_grad():
        a, b = model(left, right), converted(left, right)
    assert float((a - b).abs().max()) < 1e-5
    assert not torch.equal(model.psf.log_scale, converted.psf.log_scale), "the gain moved into the scale s'"


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
