"""Per-pixel blur-size selection (k3dn/network/selection.py): Eq. 7 with soft layers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from k3dn.evaluation.selection import BLUR_BINS, blur_bin_psnr
from k3dn.network.ablate import ablated
from k3dn.network.model import create
from k3dn.network.selection import BlurSizeSelect, oracle_weights, uniform_weights
from k3dn.training.losses import selection_loss

RADII = (0.0, 1.5, 3.0, 5.0, 8.0, 12.0)


def _pair(seed: int = 0, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, size, size, generator=g)
    return x, x.roll(1, -1)


def test_selection_block_starts_as_the_identity_so_init_keeps_the_function() -> None:
    torch.manual_seed(0)
    base = create("tiny").eval()
    torch.manual_seed(0)
    with_select = create("tiny", select_radii=RADII).eval()
    missing, unexpected = with_select.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith(("select.", "select_head.")) for k in missing)
    left, right = _pair()
    with torch.no_grad():
        assert torch.allclose(base(left, right), with_select(left, right), atol=1e-6)


def test_hypothesis_kernels_are_symmetric_sum_to_one_and_invert_exactly() -> None:
    block = BlurSizeSelect(8, RADII, 9, 0.05)
    k, kinv = block.kernels.forward_kernels(), block.kernels.inverse_kernels()
    assert torch.allclose(k, k.flip(-1)) and torch.allclose(kinv, kinv.flip(-1))  # DP symmetry (Eq. 2)
    assert torch.allclose(k.sum(dim=(-2, -1)), torch.ones(len(RADII)), atol=1e-5)
    # circular convolution of K and its inverse is the unit impulse on the P x P grid (Eq. 7)
    def spectrum(t: torch.Tensor) -> torch.Tensor:
        return torch.fft.fft2(torch.fft.ifftshift(t, dim=(-2, -1)))

    spec = spectrum(k) * spectrum(kinv)
    assert torch.allclose(spec.real, torch.ones_like(spec.real), atol=1e-4)
    # the ladder: hypothesis 0 is the identity, wider radii blur more (lower centre tap)
    assert float(k[0, 4, 4].detach()) > 0.99
    centre = k[:, 4, 4]
    assert bool((centre[1:] < centre[:-1]).all())


def test_hypotheses_differ_only_through_the_weights() -> None:
    """Per pixel, selecting hypothesis m gives the features filtered by kernel m: the mix is a real choice,
    not a channel scale (what the one-kernel-per-channel query could not do)."""
    torch.manual_seed(1)
    block = BlurSizeSelect(4, RADII, 9, 0.05)
    torch.nn.init.eye_(block.out.weight[:, :, 0, 0])
    feats = torch.randn(1, 4, 20, 20)
    outs = []
    for m in range(len(RADII)):
        a = torch.zeros(1, len(RADII), 20, 20)
        a[:, m] = 1
        outs.append(block(feats, a))
    assert torch.allclose(outs[0], feats, atol=2e-3)  # radius 0: the identity (to the spectrum clamp)
    assert all(float((outs[m] - outs[0]).abs().mean()) > 1e-2 for m in range(1, len(RADII)))


def test_oracle_weights_are_hat_interpolation_of_the_true_radius() -> None:
    radius = torch.full((1, 1, 8, 8), -4.0)  # signed: the sign does not matter (symmetric kernels)
    radius[..., :4] = 3.0
    w = oracle_weights(radius, RADII)
    assert w.shape == (1, len(RADII), 2, 2)
    assert torch.allclose(w.sum(1), torch.ones(1, 2, 2))
    assert torch.allclose(w[0, :, 0, 0], torch.tensor([0, 0, 1.0, 0, 0, 0]))
    assert torch.allclose(w[0, :, 0, 1], torch.tensor([0, 0, 0.5, 0.5, 0, 0]))
    big = oracle_weights(torch.full((1, 1, 4, 4), 30.0), RADII)
    assert torch.allclose(big[0, :, 0, 0], torch.tensor([0, 0, 0, 0, 0, 1.0]))


def test_every_selection_parameter_gets_gradient_once_the_output_conv_moves() -> None:
    torch.manual_seed(2)
    model = create("tiny", select_radii=RADII)
    torch.nn.init.normal_(model.select.out.weight, std=0.01)
    torch.nn.init.normal_(model.decoder.out.weight, std=0.01)  # a fresh decoder starts as the identity (zero output)
    left, right = _pair(size=64)
    radius = torch.rand(1, 1, 64, 64) * 12
    out = model.train_outputs(left, right, None, radius)
    loss = out["restored"].mean() + selection_loss(out["select"], radius, RADII)
    loss.backward()
    for name, p in list(model.select.named_parameters()) + list(model.select_head.named_parameters()):
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_selection_loss_is_lowest_at_the_oracle() -> None:
    radius = torch.rand(2, 1, 32, 32) * 12
    target = oracle_weights(radius, RADII)
    at_oracle = selection_loss(target.clamp(min=1e-6) / target.clamp(min=1e-6).sum(1, keepdim=True), radius, RADII)
    at_uniform = selection_loss(uniform_weights(target, len(RADII)), radius, RADII)
    assert float(at_oracle) < float(at_uniform)


def test_uniform_and_oracle_modes_and_the_query_ablation() -> None:
    left, right = _pair(size=64)
    radius = torch.full((1, 1, 64, 64), 5.0)
    oracle = create("tiny", select_radii=RADII, select_mode="oracle")
    with pytest.raises(ValueError, match="true blur radius"):
        oracle.train_outputs(left, right, None)
    assert torch.allclose(oracle.train_outputs(left, right, None, radius)["select"][:, 3], torch.ones(1, 16, 16))
    uniform = create("tiny", select_radii=RADII, select_mode="uniform")
    assert torch.allclose(uniform.train_outputs(left, right, None)["select"], torch.full((1, 6, 16, 16), 1 / 6))
    learned = create("tiny", select_radii=RADII)
    with ablated(learned, ["query"]):
        assert torch.allclose(learned.train_outputs(left, right, None)["select"], torch.full((1, 6, 16, 16), 1 / 6))
    assert not torch.allclose(learned.train_outputs(left, right, None)["select"], torch.full((1, 6, 16, 16), 1 / 6))


def test_blur_bin_psnr_scores_each_bin_on_its_own_pixels() -> None:
    sharp = np.zeros((4, 5, 3))
    pred = np.zeros((4, 5, 3))
    radius = np.array([[0.0, 1.0, 3.0, 7.0, 11.0]] * 4)
    pred[:, 2] = 0.1  # error only in the 2-5 px bin
    bins = blur_bin_psnr(pred, sharp, radius)
    assert math.isclose(bins["bin_2_5"], 20.0, abs_tol=1e-6)
    assert all(bins[k] > 100 for k, *_ in BLUR_BINS if k != "bin_2_5")
    assert math.isnan(blur_bin_psnr(pred, sharp, np.zeros((4, 5)))["bin_gt10"])


def test_train_report_shows_the_selection_on_a_simulated_batch() -> None:
    from k3dn.training.diagnostics import diagnose_weights, format_report
    from k3dn.training.trainer import fixed_batch

    torch.manual_seed(5)
    model = create("tiny", select_radii=RADII)
    batch = {k: v[:2, :, :64, :64] for k, v in fixed_batch(0, batch=2, patch=64).items()}
    rec = diagnose_weights(model, batch)
    sel = rec["selection"]
    assert 0.0 < sel["entropy"] <= 1.0 and 0.0 <= sel["argmax_agreement"] <= 1.0
    assert math.isclose(sel["chance"], 1 / len(RADII))
    assert "selection: entropy" in format_report(rec)


def test_large_kernels_filter_through_the_fft_exactly_as_the_conv() -> None:
    """Training filters P >= FFT_FROM kernels by FFT; inference (and the lowered graph) by conv2d: one function."""
    from k3dn.network.selection import FFT_FROM

    block = BlurSizeSelect(3, RADII, FFT_FROM + 2, 0.05, scale=1, mix_out=False)
    with torch.no_grad():  # asymmetric vertically, so a flipped-kernel mistake would show
        block.kernels.w_im.normal_(std=0.3)
    x = torch.rand(2, 3, 40, 56)
    kinv = block.kernels.inverse_kernels().detach()
    with torch.enable_grad():
        by_fft = block.filtered(x, kinv)
    with torch.no_grad():
        by_conv = block.filtered(x, kinv)
    for a, b in zip(by_fft, by_conv, strict=True):
        assert torch.allclose(a, b, atol=1e-4)


def test_image_space_selection_starts_as_the_shipped_function_and_its_new_parameters_get_their_own_lr() -> None:
    from k3dn.training.trainer import param_groups

    torch.manual_seed(0)
    base = create("tiny").eval()
    model = create("tiny", select_radii=RADII, select_scale=1, select_kernel_size=15).eval()
    missing = model.load_state_dict(base.state_dict(), strict=False).missing_keys
    assert all(k.startswith(("select.", "select_head.", "encoder.extra_in.")) for k in missing)
    left, right = _pair()
    with torch.no_grad():
        assert torch.equal(base(left, right), model(left, right))
    groups = param_groups(model, 1e-4, new_lr=1e-3)
    fast = {id(p) for g in groups if g.get("lr") == 1e-3 for p in g["params"]}
    named = dict(model.named_parameters())
    assert fast == {id(p) for n, p in named.items() if n.startswith(("select.", "select_head.", "encoder.extra_in."))}
