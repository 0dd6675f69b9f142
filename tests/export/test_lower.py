"""Lowering (export/lower.py): the inference-only graph equals the training graph to float rounding
and contains only plain operators. Needs torch only."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import k3dn
from k3dn.export.common import forbidden_ops
from k3dn.export.lower import (
    LoweredK3DN,
    ShuffleUpsample,
    fold_batchnorm,
    is_shuffle_upsample,
    lower,
    with_transposed_convs,
)
from k3dn.export.weights import random_model

ATOL = 1e-5  # lowered vs training graph, float32 (the budget)


@pytest.fixture(scope="module")
def model() -> k3dn.K3DN:
    return random_model("tiny", seed=0)


@pytest.fixture(scope="module")
def lowered(model: k3dn.K3DN) -> LoweredK3DN:
    return lower(model, with_reblur=True)


def _pair(n: int, h: int, w: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, h, w, generator=g)
    return base, (base.roll(2, dims=-1) + 0.05 * torch.rand(n, 3, h, w, generator=g)).clamp(0, 1)


@pytest.mark.parametrize("batch, size", [(1, (128, 128)), (2, (64, 96)), (2, (32, 48))])
def test_lowered_matches_training_graph(model, lowered, batch, size) -> None:
    left, right = _pair(batch, *size, seed=sum(size))
    with torch.no_grad():
        want = model(left, right)
        got = lowered(left, right)
        base = ((left + right) / 2).clamp(0, 1)
    err = (got - want).abs().max().item()
    print(f"{size}: lowered vs training max |diff| = {err:.2e}")
    assert err <= ATOL
    # The comparison carries signal: the output is not just the mean of the views.
    assert (want - base).abs().max().item() > 1e-2


def test_lowered_reblur_matches_training_reblur(model, lowered) -> None:
    left, right = _pair(1, 64, 64, seed=5)
    sharp = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        _, a = model._deblur(left, right)
        want = model._reblur(sharp, a)
        got = lowered.reblur(sharp, lowered.gain(left, right))
    assert (got - want).abs().max().item() <= ATOL


def test_reblur_is_absent_unless_asked(model) -> None:
    plain = lower(model)
    assert plain.forward_kernels is None
    with pytest.raises(RuntimeError, match="with_reblur"):
        plain.reblur(torch.rand(1, 3, 32, 32), torch.ones(1, 128, 2, 2))


def test_training_model_is_untouched(model) -> None:
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lower(model)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.requires_grad for p in model.parameters())
    assert torch.nn.utils.parametrize.is_parametrized(model.psf.mix)


def test_lowered_graph_has_only_plain_ops(lowered) -> None:
    """No FFT/complex/inverse/reciprocal, no parametrization, no gather/index/unfold, no reflect pad."""
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in lowered.modules())
    assert all(not p.requires_grad for p in lowered.parameters())
    left, right = _pair(1, 64, 64, seed=1)
    program = torch.export.export(lowered, (left, right))
    ops = sorted({str(n.target) for n in program.graph.nodes if n.op == "call_function"})
    print(ops)
    assert forbidden_ops(ops) == []
    banned = ("index", "gather", "unfold", "im2col", "reflection", "arange", "matrix_exp", "sum", "mean", "upsample",
              "convolution_backward", "conv_transpose")
    assert [op for op in ops if any(b in op for b in banned)] == []
    pads = [n for n in program.graph.nodes if n.op == "call_function" and "pad" in str(n.target)]
    assert all(n.kwargs.get("mode", n.args[2] if len(n.args) > 2 else "constant") == "constant" for n in pads)


def test_lowered_constants_come_from_the_kernel_set(model, lowered) -> None:
    """Inverse kernels are F^-1(1/F(K)) as a depthwise weight; W, W^T are plain 1x1 conv weights."""
    with torch.no_grad():
        torch.testing.assert_close(lowered.inverse.weight[:, 0], model.kernels.inverse_kernels(), rtol=0, atol=0)
        torch.testing.assert_close(lowered.forward_kernels.weight[:, 0], model.kernels.forward_kernels(),
                                   rtol=0, atol=0)
        w = model.psf.mixing()
        torch.testing.assert_close(lowered.mix.weight, w, rtol=0, atol=0)
        torch.testing.assert_close(lowered.unmix.weight, w.transpose(0, 1), rtol=0, atol=0)
        eye = torch.eye(w.shape[0])
        torch.testing.assert_close(w[:, :, 0, 0] @ w[:, :, 0, 0].T, eye, rtol=0, atol=1e-5)
    assert lowered.inverse.groups == model.config.feat_channels
    assert lowered.inverse.padding == (model.config.kernel_size // 2,) * 2


@pytest.mark.parametrize("conv", [nn.Conv2d(4, 6, 3, padding=1), nn.ConvTranspose2d(4, 6, 2, stride=2)])
def test_fold_batchnorm_is_exact_and_removes_bn(conv: nn.Module) -> None:
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(6)
    net = nn.Sequential(conv, bn, nn.LeakyReLU(0.1))
    net.train()
    for _ in range(3):  # non-trivial running statistics
        net(torch.randn(4, 4, 8, 8) * 3 + 1)
    net.eval()
    with torch.no_grad():
        bn.weight.mul_(1.7)
        bn.bias.add_(0.3)
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        want = net(x)
        fold_batchnorm(net)
        got = net(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_fold_batchnorm_warns_about_a_bn_it_cannot_fold() -> None:
    net = nn.Sequential(nn.LeakyReLU(0.1), nn.BatchNorm2d(3)).eval()
    with pytest.warns(UserWarning, match="left unfolded"):
        fold_batchnorm(net)
    assert isinstance(net[1], nn.BatchNorm2d)


def test_lower_rejects_other_modules() -> None:
    with pytest.raises(TypeError, match="K3DN"):
        lower(nn.Conv2d(3, 3, 1))


@pytest.mark.parametrize("cin, cout, r, bias", [(8, 5, 2, True), (3, 4, 3, False), (6, 6, 2, False)])
def test_shuffle_upsample_equals_the_transposed_conv(cin: int, cout: int, r: int, bias: bool) -> None:
    """conv1x1 + pixel_shuffle reproduces ConvTranspose2d(k = s = r) exactly, and converts back."""
    torch.manual_seed(cin + r)
    tconv = nn.ConvTranspose2d(cin, cout, r, stride=r, bias=bias).eval()
    x = torch.randn(2, cin, 5, 7)
    shuffle = ShuffleUpsample(tconv)
    back = shuffle.as_conv_transpose()
    with torch.no_grad():
        want = tconv(x)
        torch.testing.assert_close(shuffle(x), want, rtol=0, atol=1e-6)
        torch.testing.assert_close(back(x), want, rtol=0, atol=0)
    assert shuffle.weight.shape == (cout * r * r, cin, 1, 1)
    torch.testing.assert_close(back.weight, tconv.weight, rtol=0, atol=0)


@pytest.mark.parametrize("tconv", [nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1),
                                   nn.ConvTranspose2d(4, 4, 2, stride=2, groups=2),
                                   nn.ConvTranspose2d(4, 4, 2, stride=1),
                                   nn.Conv2d(4, 4, 2, stride=2)])
def test_shuffle_upsample_refuses_what_it_cannot_replace_exactly(tconv: nn.Module) -> None:
    assert not is_shuffle_upsample(tconv)
    with pytest.raises(ValueError, match="kernel = stride"):
        ShuffleUpsample(tconv)


def test_decoder_upsamplers_are_lowered_to_shuffles_and_back_for_coreml(model, lowered) -> None:
    """The lowered decoder has no transposed conv (int8 quantizers skip them); CoreML's copy gets them back."""
    ups = [m for m in lowered.decoder.modules() if isinstance(m, ShuffleUpsample)]
    assert len(ups) == 3 and not any(isinstance(m, nn.ConvTranspose2d) for m in lowered.modules())
    coreml_view = with_transposed_convs(lowered)
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in coreml_view.modules()) == 3
    assert any(isinstance(m, ShuffleUpsample) for m in lowered.modules())  # the shared lowering is untouched
    left, right = _pair(1, 32, 48, seed=3)
    with torch.no_grad():
        assert (coreml_view(left, right) - lowered(left, right)).abs().max().item() <= ATOL


@pytest.mark.parametrize("mode, scale", [("learned", 4), ("uniform", 4), ("learned", 1)])
def test_lowered_blur_size_selection_matches_and_stays_plain(mode: str, scale: int) -> None:
    """The selection block (k3dn/network/selection.py) lowers to constant depthwise convs, products and adds."""
    torch.manual_seed(3)
    model = k3dn.create("tiny", select_radii=(0.0, 1.5, 3.0, 5.0, 8.0, 12.0), select_mode=mode,
                        select_scale=scale, select_kernel_size=9 if scale == 4 else 15).eval()
    # the block's output conv (features) or the encoder's weights on its output (image) start at 0: make it matter
    start = model.select.out.weight if scale == 4 else model.encoder.level0[0].weight[:, 6:]
    with torch.no_grad():
        for weight in (start, model.decoder.out.weight):
            weight.normal_(std=0.05)
    low = lower(model)
    left, right = _pair(2, 64, 96, seed=4)
    with torch.no_grad():
        assert float((low(left, right) - model(left, right)).abs().max()) < ATOL
    graph = torch.export.export(low, (left[:1], right[:1])).graph
    ops = {str(n.target) for n in graph.nodes if n.op == "call_function"}
    assert forbidden_ops(sorted(ops)) == []


def test_an_oracle_selection_cannot_be_lowered() -> None:
    model = k3dn.create("tiny", select_radii=(0.0, 4.0), select_mode="oracle")
    with pytest.raises(ValueError, match="oracle"):
        lower(model)
