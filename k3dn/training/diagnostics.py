"""Training diagnostics: is every module of K3DN learning?

Three kinds of numbers, all cheap enough to log every few hundred steps (`k3dn train` writes them to
RUN/diagnostics.jsonl) and to compute once on a weights file (`k3dn train --report WEIGHTS`):

- per top-level module (encoder, disparity, kernels, query, psf, srp, decoder): the L2 norm of its
  gradient before clipping, the number of its parameter tensors whose gradient is exactly zero, and
  its movement from the initialisation, ||theta - theta_0|| / ||theta_0||;
- the kernel query (Eq. 8): mean per-pixel entropy of a over the N kernels (as a fraction of log N:
  1 = uniform, 0 = one kernel per pixel), the effective number of kernels in use exp(H(mean a)), the
  range of the gain N a over kernels and its spatial standard deviation (a gain that does not vary
  over space is a fixed per-channel scale, not a disparity-selected kernel);
- the kernel set (Eq. 2, 7, 10): the range of the PSF block's deblur gain s h(a) (psf.py), the largest
  inverse-kernel spectrum gain 1/|F(K)|, the fraction of spectrum entries at the min_spectrum floor,
  and the mean slope of the parameterisation's bound (kernels.soft_bound; the first shipped weights'
  sigmoid had slope ~1e-4 on 36 % of entries, where the kernel parameters got almost no gradient).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..network.kernels import _symmetrize, soft_bound


def module_of(name: str) -> str:
    """Top-level module of a parameter name ('kernels.w_re' -> 'kernels')."""
    return name.split(".", 1)[0]


def grad_stats(model: nn.Module) -> dict[str, dict[str, float]]:
    """Per top-level module: gradient L2 norm, parameter tensors and those with no or all-zero gradient."""
    out: dict[str, dict[str, float]] = {}
    for name, p in model.named_parameters():
        row = out.setdefault(module_of(name), {"grad_norm": 0.0, "params": 0, "zero_grad": 0})
        row["params"] += 1
        if p.grad is None or not bool(p.grad.detach().abs().sum() > 0):
            row["zero_grad"] += 1
        else:
            row["grad_norm"] += float(p.grad.detach().float().pow(2).sum())
    for row in out.values():
        row["grad_norm"] = math.sqrt(row["grad_norm"])
    return out


def zero_grad_params(model: nn.Module) -> list[str]:
    """Names of the parameters whose gradient is missing or exactly zero (after a backward pass)."""
    return [n for n, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]


def movement(model: nn.Module, init: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per top-level module: ||theta - theta_0|| / ||theta_0|| over its parameters (state_dict names)."""
    diff: dict[str, float] = {}
    base: dict[str, float] = {}
    for name, p in model.named_parameters():
        if name not in init:
            continue
        m = module_of(name)
        p0 = init[name].to(p.device, torch.float32)
        diff[m] = diff.get(m, 0.0) + float((p.detach().float() - p0).pow(2).sum())
        base[m] = base.get(m, 0.0) + float(p0.pow(2).sum())
    return {m: math.sqrt(diff[m]) / max(math.sqrt(base[m]), 1e-12) for m in diff}


def kernel_param_stats(model: nn.Module, init: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """Saturation of the kernel set's parameterisation and its spectrum (no data needed)."""
    ks = model.kernels
    with torch.no_grad():
        re, _ = _symmetrize(ks.log_mag, ks.w_im)
        t = re.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            soft_bound(t, ks.log_min).sum().backward()
        mask = ks.not_dc.bool().expand_as(re)
        slope = t.grad[mask]
        log_mag, _ = ks.log_spectrum()
        at_floor = (log_mag[mask] < 0.97 * ks.log_min).float().mean()
        out = {"bound_slope_mean": float(slope.mean()), "bound_slope_median": float(slope.median()),
               "bound_slope_below_1e-3": float((slope < 1e-3).float().mean()),
               "spectrum_at_floor": float(at_floor), "max_inverse_spectrum_gain": float(torch.exp(-log_mag).max())}
        if init is not None and "kernels.log_mag" in init:
            d = (ks.log_mag.detach() - init["kernels.log_mag"].to(ks.log_mag.device)).abs()
            out |= {"log_mag_move_mean": float(d.mean()), "log_mag_move_max": float(d.max())}
            re0, _ = _symmetrize(init["kernels.log_mag"], init["kernels.w_im"])
            lm0 = soft_bound(re0.to(log_mag.device), ks.log_min) * ks.not_dc
            out["log_spectrum_move_max"] = float((log_mag - lm0).abs().max())
    return out


@torch.no_grad()
def query_stats(model: nn.Module, left: torch.Tensor, right: torch.Tensor) -> dict[str, float]:
    """Kernel-query usage and PSF gain on a batch (K3DN only): see the module docstring."""
    a = model.kernel_weights(left, right).float()  # B x N x h x w, sums to 1 over N
    n = a.shape[1]
    ent = -(a * a.clamp_min(1e-12).log()).sum(1).mean() / math.log(n)
    usage = a.mean(dim=(0, 2, 3))
    eff = torch.exp(-(usage * usage.clamp_min(1e-12).log()).sum())
    na = a * n
    h = model.psf.deblur_gain(a) * model.psf.scale()  # what multiplies channel j of the inverse-filtered features
    return {"query_entropy": float(ent), "kernels_in_use": float(eff), "num_kernels": n,
            "gain_min": float(na.min()), "gain_max": float(na.max()),
            "gain_spatial_std": float(na.std(dim=(2, 3)).mean()),
            "deblur_gain_min": float(h.min()), "deblur_gain_max": float(h.max()),
            "gain_clipped": float((na < model.psf.min_gain).float().mean()) if model.psf.mode == "divide" else 0.0}


@torch.no_grad()
def selection_stats(model: nn.Module, batch: dict) -> dict[str, float]:
    """The blur-size selection's weights on a simulated batch against its true radius (network/selection.py)."""
    from ..network.selection import agreement

    quarter = model.disparity.with_quarter(batch["left"], batch["right"])[1]
    radius = batch["radius"].to(quarter.device)
    return agreement(model.selection_weights(quarter, radius), radius, model.config.select_radii)


def snapshot(model: nn.Module, init: dict[str, torch.Tensor] | None, batch: dict | None = None) -> dict:
    """All diagnostics of `model` now (call after backward and before the optimizer step for gradients)."""
    rec: dict = {"modules": grad_stats(model)}
    if init is not None:
        for m, v in movement(model, init).items():
            rec["modules"].setdefault(m, {})["move"] = v
    if hasattr(model, "kernels"):
        rec["kernels"] = kernel_param_stats(model, init)
        for pname in ("log_mag", "w_im"):
            grad = getattr(model.kernels, pname).grad
            if grad is not None:
                rec["kernels"][f"{pname}_grad_norm"] = float(grad.norm())
        if batch is not None:
            was = model.training
            model.eval()
            rec["query"] = query_stats(model, batch["left"], batch["right"])
            if getattr(model, "select", None) is not None and "radius" in batch:
                rec["selection"] = selection_stats(model, batch)
            model.train(was)
    return rec


def format_report(rec: dict, title: str = "") -> str:
    """Human-readable table of one `snapshot` record."""
    lines = [title] if title else []
    lines += ["| module | grad norm | zero-grad tensors | move from init |", "|---|---:|---:|---:|"]
    for m, row in rec["modules"].items():
        move = f"{row['move']:.4f}" if "move" in row else "-"
        lines.append(f"| {m} | {row.get('grad_norm', float('nan')):.3e} | {row.get('zero_grad', 0)}/"
                     f"{row.get('params', 0)} | {move} |")
    for section in ("kernels", "query", "selection"):
        if section in rec:
            lines.append(f"\n{section}: " + ", ".join(f"{k} {v:.4g}" for k, v in rec[section].items()))
    return "\n".join(lines)


def diagnose_weights(model: nn.Module, batch: dict[str, torch.Tensor], seed: int = 0,
                     reblur_weight: float = 0.5, freq_weight: float = 0.05) -> dict:
    """Diagnostics of trained weights: one forward/backward of the training loss (Eq. 18) on `batch`,
    movement measured from the initialisation `k3dn train --seed seed` starts from (the kernel set's
    init does not depend on the seed)."""
    from .losses import k3dn_loss

    torch.manual_seed(seed)
    init = {k: v.detach().clone() for k, v in type(model)(model.config).state_dict().items()}
    model.train()
    model.zero_grad(set_to_none=True)
    spectra: list[torch.Tensor] = []
    ks = getattr(model, "kernels", None)
    if ks is not None:  # also record d loss / d log|F(K)|: the gradient a log-magnitude parameter would get
        original = ks.log_spectrum

        def recorded() -> tuple[torch.Tensor, torch.Tensor]:
            log_mag, phase = original()
            log_mag.retain_grad()
            spectra.append(log_mag)
            return log_mag, phase

        ks.log_spectrum = recorded
    try:
        restored, reblurred = model.deblur_and_reblur(batch["left"], batch["right"], batch["sharp"])
        loss = k3dn_loss(restored, batch["sharp"], reblurred, batch["blurry"], reblur_weight, freq_weight)["loss"]
        loss.backward()
    finally:
        if ks is not None:
            del ks.log_spectrum
    rec = snapshot(model, init, batch)
    if spectra:
        rec["kernels"]["log_spectrum_grad_norm"] = float(sum(t.grad for t in spectra if t.grad is not None).norm())
    model.zero_grad(set_to_none=True)
    model.eval()
    return rec
