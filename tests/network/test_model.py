"""Float reference model: sizes, shapes, kernel math, alignment, gradients, determinism."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import k3dn
from k3dn.network.blocks import nearest_upsample
from k3dn.network.complexity import count_params
from k3dn.network.config import PAPER_FIGURES, VARIANTS


@pytest.fixture(scope="module")
def tiny() -> k3dn.K3DN:
    torch.manual_seed(0)
    return k3dn.create("tiny").eval()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_param_count_within_10_percent_of_paper(name: str) -> None:
    params = count_params(k3dn.create(name)) / 1e6
    paper = PAPER_FIGURES[name]["params_m"]
    assert abs(params / paper - 1) <= 0.10, f"{name}: {params:.2f}M vs paper {paper:.2f}M"


def test_kernel_set_is_horizontally_symmetric_and_normalized(tiny: k3dn.K3DN) -> None:
    k = tiny.kernels.forward_kernels()
    k_left, k_right = tiny.kernels.half_aperture()
    assert torch.equal(k_right, k_left.flip(-1)), "K_R must equal flip(K_L) exactly"
    assert torch.equal(k, k.flip(-1)), "the full-aperture kernel must be exactly horizontally symmetric"
    torch.testing.assert_close((k_left + k_right) / 2, k, rtol=0, atol=1e-6)
    torch.testing.assert_close(k.sum(dim=(-2, -1)), torch.ones(k.shape[0]), rtol=0, atol=1e-5)


def test_forward_times_inverse_is_one_in_frequency_domain(tiny: k3dn.K3DN) -> None:
    k = tiny.kernels.forward_kernels()
    inv = tiny.kernels.inverse_kernels()
    spec = torch.fft.fft2(torch.fft.ifftshift(k, dim=(-2, -1)))
    ispec = torch.fft.fft2(torch.fft.ifftshift(inv, dim=(-2, -1)))
    err = (spec * ispec - 1).abs().max().item()
    print(f"max |F(K) F(K^-1) - 1| = {err:.2e}")
    assert err < 1e-4
    assert tiny.kernels.spectrum().abs().min() > tiny.config.min_spectrum * 0.999


def test_spatial_inverse_kernel_undoes_the_kernel(tiny: k3dn.K3DN) -> None:
    """Linear (not circular) convolution K * K^-1 is close to a delta; the residue is the wrap-around
    of the P x P circular inverse, bounded by the spectrum floor."""
    k = tiny.kernels.forward_kernels().detach()
    inv = tiny.kernels.inverse_kernels().detach()
    p = k.shape[-1]
    full = F.conv2d(k.unsqueeze(0), inv.flip(-2, -1).unsqueeze(1), padding=p - 1, groups=k.shape[0])[0]
    delta = torch.zeros_like(full)
    delta[:, p - 1, p - 1] = 1
    err = (full - delta).abs().amax(dim=(-2, -1))
    print(f"K * K^-1 vs delta: max {err.max():.3f}, median {err.median():.3f} (peak 1)")
    assert err.max() < 0.1


@pytest.mark.parametrize("size", [(72, 120), (100, 130), (32, 32)])
def test_any_size_gives_output_of_input_size(tiny: k3dn.K3DN, size: tuple[int, int]) -> None:
    left, right = torch.rand(2, 1, 3, *size)
    with torch.no_grad():
        out = tiny(left, right)
    assert out.shape == left.shape
    assert out.dtype == torch.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_batch_items_are_independent(tiny: k3dn.K3DN) -> None:
    left, right = torch.rand(2, 3, 3, 48, 64)
    with torch.no_grad():
        batched = tiny(left, right)
        single = tiny(left[1:2], right[1:2])
    torch.testing.assert_close(batched[1:2], single, rtol=1e-4, atol=1e-5)


def test_disparity_block_changes_psf_output_only_inside_its_block(tiny: k3dn.K3DN) -> None:
    """Footnote 2: r^i is aligned to F_B by nearest-neighbour upsampling, so r^i affects only its block."""
    torch.manual_seed(1)
    c = tiny.config
    feats = torch.randn(1, c.feat_channels, 8, 12)
    r = torch.randn(1, c.disp_channels, 8 // c.disp_block, 12 // c.disp_block)
    kernels, inverse = tiny.kernels.forward_kernels(), tiny.kernels.inverse_kernels()

    def psf_out(r_: torch.Tensor) -> torch.Tensor:
        a = nearest_upsample(tiny.query(r_, kernels), c.disp_block)
        return tiny.psf.deblur(feats, inverse, a)

    with torch.no_grad():
        base = psf_out(r)
        r2 = r.clone()
        r2[:, :, 1, 2] += 3.0
        changed = (psf_out(r2) - base).abs().amax(dim=1)[0] > 1e-6
    b = c.disp_block
    expected = torch.zeros_like(changed)
    expected[1 * b:2 * b, 2 * b:3 * b] = True
    assert torch.equal(changed, expected)


def test_gradients_reach_every_parameter_through_deblur_and_reblur() -> None:
    torch.manual_seed(0)
    model = k3dn.create("tiny")
    # The decoder's output conv starts at zero (identity start), which blocks gradient to everything
    # before it at exactly that point; move off it as one optimizer step would.
    torch.nn.init.normal_(model.decoder.out.weight, std=1e-2)
    left, right, sharp = torch.rand(3, 2, 3, 32, 32)
    restored, reblurred = model.deblur_and_reblur(left, right, sharp)
    (restored.mean() + reblurred.mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()
               or p.grad.abs().sum() == 0]
    assert not missing, f"no gradient for {missing}"
    # The kernel set gets gradient from the reblur path alone, too (Eq. 17 uses the forward kernels).
    model.zero_grad()
    _, reblurred = model.deblur_and_reblur(left, right, sharp)
    reblurred.mean().backward()
    assert model.kernels.log_mag.grad.abs().sum() > 0


def test_untrained_model_starts_as_the_identity_on_the_view_mean() -> None:
    left, right = torch.rand(2, 1, 3, 48, 48)
    with torch.no_grad():
        out = k3dn.create("tiny").eval()(left, right)
    torch.testing.assert_close(out, (left + right) / 2)


def test_same_seed_same_output() -> None:
    x = torch.rand(2, 1, 3, 48, 48, generator=torch.Generator().manual_seed(3))
    outs = []
    for _ in range(2):
        torch.manual_seed(7)
        with torch.no_grad():
            outs.append(k3dn.create("tiny").eval()(x[0], x[1]))
    assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize(
    "left, right, message",
    [
        (torch.rand(3, 32, 32), torch.rand(3, 32, 32), "rank"),
        (torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32), "3 (RGB) channels"),
        (torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 48), "shapes differ"),
        ((torch.rand(1, 3, 32, 32) * 255).to(torch.uint8), torch.rand(1, 3, 32, 32), "float"),
        (torch.full((1, 3, 32, 32), float("nan")), torch.rand(1, 3, 32, 32), "NaN"),
        (torch.rand(1, 3, 32, 32), torch.full((1, 3, 32, 32), float("inf")), "NaN or Inf"),
        (torch.rand(1, 3, 16, 32), torch.rand(1, 3, 16, 32), ">= 32"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_problem(tiny, left, right, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tiny(left, right)


def test_input_spec_states_the_contract(tiny: k3dn.K3DN) -> None:
    spec = tiny.input_spec()
    assert list(spec["inputs"]) == ["left", "right"] and list(spec["outputs"]) == ["sharp"]
    assert spec["inputs"]["left"]["dtype"] == "float32" and spec["inputs"]["left"]["range"] == [0.0, 1.0]
    assert spec["min_size"] == 32 and spec["stride"] == 16
