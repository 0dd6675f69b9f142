"""Diagnostics that show the blur-size selection (selection.py) working, on simulated pairs whose true
per-pixel blur radius is known: PSNR per blur-size bin, the selection's entropy, and how often its argmax
picks the hypothesis nearest the true radius."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

# (key, label, lowest |c| in px (inclusive), highest (exclusive)); "in focus" matches simulate.IN_FOCUS_RADIUS
BLUR_BINS = (("bin_focus", "in focus", 0.0, 0.5), ("bin_le2", "<= 2 px", 0.5, 2.0), ("bin_2_5", "2-5 px", 2.0, 5.0),
             ("bin_5_10", "5-10 px", 5.0, 10.0), ("bin_gt10", "> 10 px", 10.0, math.inf))


def blur_bin_psnr(pred: np.ndarray, sharp: np.ndarray, radius: np.ndarray) -> dict[str, float]:
    """PSNR (dB, peak 1) of pred against sharp over the pixels of each blur-size bin of |radius| (H x W);
    NaN for a bin with no pixel. pred, sharp: H x W x 3."""
    err = ((np.asarray(pred, np.float64) - sharp) ** 2).mean(axis=-1)
    r = np.abs(radius)
    out = {}
    for key, _, lo, hi in BLUR_BINS:
        mask = (r >= lo) & (r < hi)
        mse = float(err[mask].mean()) if mask.any() else float("nan")
        out[key] = float("nan") if math.isnan(mse) else 10 * math.log10(1.0 / max(mse, 1e-12))
    return out


def format_bins(results: dict[str, dict[str, float]]) -> str | None:
    """Markdown table of the bin PSNRs per row of `results` (None if no row has them)."""
    rows = {name: m for name, m in results.items() if BLUR_BINS[0][0] in m}
    if not rows:
        return None
    lines = ["| Method | " + " | ".join(label for _, label, _, _ in BLUR_BINS) + " |",
             "|---|" + "---:|" * len(BLUR_BINS)]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join("-" if math.isnan(m[k]) else f"{m[k]:.2f}" for k, *_ in BLUR_BINS)
                     + " |")
    return "\n".join(lines)


@torch.no_grad()
def selection_report(model: torch.nn.Module, items: Sequence[dict], device: str = "cpu") -> dict[str, float] | None:
    """For a K3DN with a blur-size selection block, over simulated items (with `radius`) whose size is a multiple
    of the network stride: mean entropy of the per-pixel weights / log M (1 = uniform), the argmax's agreement
    with the hypothesis nearest the true radius (block-averaged |c|), and the mean weight on that hypothesis.
    None for other models or items."""
    from ..network.selection import agreement

    select = getattr(model, "select", None)
    if select is None or not items or "radius" not in items[0]:
        return None
    stride = model.config.stride
    entropy, agree, mass, n = 0.0, 0.0, 0.0, 0
    for item in items:
        h, w = item["left"].shape[:2]
        if h % stride or w % stride:
            continue
        left, right = (torch.from_numpy(item[k]).permute(2, 0, 1)[None].float().to(device) for k in ("left", "right"))
        radius = torch.from_numpy(np.asarray(item["radius"], np.float32))[None, None].to(device)
        quarter = model.disparity.with_quarter(left, right)[1]
        stats = agreement(model.selection_weights(quarter, radius), radius, model.config.select_radii)
        entropy, agree, mass, n = (entropy + stats["entropy"], agree + stats["argmax_agreement"],
                                   mass + stats["weight_on_true"], n + 1)
    if not n:
        return None
    return {"entropy": entropy / n, "argmax_agreement": agree / n, "weight_on_true": mass / n,
            "chance": 1.0 / select.num_hypotheses, "pairs": n}


@torch.no_grad()
def score_with_radius(model: torch.nn.Module, items: Sequence[dict], device: str = "cpu") -> list[dict[str, float]]:
    """Metrics per item of a model whose selection weights come from the true radius (select_mode "oracle",
    a design study: no deployable runner has the radius). Whole frames, sizes a multiple of the stride."""
    from .metrics import all_metrics

    rows = []
    for item in items:
        left, right = (torch.from_numpy(item[k]).permute(2, 0, 1)[None].float().to(device) for k in ("left", "right"))
        if left.shape[-1] % model.config.stride or left.shape[-2] % model.config.stride:
            raise ValueError(f"oracle scoring needs sizes that are multiples of {model.config.stride}")
        radius = torch.from_numpy(np.asarray(item["radius"], np.float32))[None, None].to(device)
        pred = model._deblur_parts(left, right, radius)["sharp"].clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
        row = all_metrics(pred, item["sharp"], item.get("in_focus"))
        rows.append(row | blur_bin_psnr(pred, item["sharp"], item["radius"]))
    return rows
