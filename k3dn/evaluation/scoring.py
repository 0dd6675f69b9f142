"""Evaluation in the shape of the paper's Table 1: PSNR, SSIM, RMSE_rel, MAE (+ sharp-region MAE).

Metric definitions live in k3dn/evaluation/metrics.py. An evaluation set is a sequence of dicts with H x W x 3
float32 arrays `left`, `right`, `sharp` in [0, 1], optionally an H x W `in_focus` mask, and optionally
`score_top`: the first row that is scored (rows above it are left out of every metric, e.g. a text
label burnt into the ground truth; the model still sees the whole frame).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from torch import nn
from tqdm import tqdm

from ..camera import Deblurrer
from ..camera.runners import Runner, TorchRunner
from .metrics import all_metrics
from .selection import blur_bin_psnr

METRIC_COLUMNS = [("psnr", "PSNR↑", 1.0, "{:.2f}"), ("ssim", "SSIM↑", 1.0, "{:.3f}"),
                  ("rmse_rel", "RMSE_rel(1e-2)↓", 1e2, "{:.2f}"), ("mae", "MAE(1e-1)↓", 1e1, "{:.3f}"),
                  ("sharp_mae", "sharp MAE(1e-2)↓", 1e2, "{:.2f}")]


def score_pairs(runner: Runner | nn.Module | None, items: Iterable[dict], device: str = "cpu", tile: int = 512,
                desc: str = "eval", progress: bool = True, key: str | None = None) -> list[dict[str, float]]:
    """Metrics of `runner` (a runner, or a model run on `device`) on each item, in order, through the camera
    pipeline's tiled engine (camera.Deblurrer, `tile`-px tiles); runner=None scores the input,
    B = (B_L + B_R)/2, or, with `key`, a precomputed output stored in each item under that key (e.g. a
    published method's)."""
    rows = []
    items = list(items) if not isinstance(items, Sequence) else items
    if isinstance(runner, nn.Module):
        runner = TorchRunner(runner, fast=False, device=device)
    deblur = None if runner is None or key is not None else Deblurrer(runner, tile=tile)
    for item in tqdm(items, desc=desc, disable=not progress, leave=False):
        if key is not None:
            pred = item[key]
        elif runner is None:
            pred = (item["left"] + item["right"]) / 2
        else:
            pred = deblur(item["left"], item["right"])
        top = item.get("score_top", 0)
        mask = item.get("in_focus")
        row = all_metrics(pred[top:], item["sharp"][top:], None if mask is None else mask[top:])
        if "radius" in item:  # simulated pairs: PSNR per blur-size bin too
            row |= blur_bin_psnr(pred[top:], item["sharp"][top:], item["radius"][top:])
        rows.append(row)
    return rows


def mean_metrics(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per-metric mean over the rows of `score_pairs`, skipping NaN (e.g. no in-focus pixel); adds n."""
    out = {}
    for key in rows[0]:
        vals = [r[key] for r in rows if not math.isnan(r[key])]
        out[key] = float(np.mean(vals)) if vals else float("nan")
    out["n"] = len(rows)
    return out


def evaluate(runner: Runner | None, items: Iterable[dict], device: str = "cpu", tile: int = 512,
             desc: str = "eval", progress: bool = True) -> dict[str, float]:
    """Mean metrics of `runner` over `items`; runner=None scores the input, B = (B_L + B_R)/2."""
    return mean_metrics(score_pairs(runner, items, device, tile, desc, progress))


def format_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown table, one row per method (Input first), columns as in the paper's Table 1."""
    head = "| Method | " + " | ".join(c[1] for c in METRIC_COLUMNS) + " |"
    sep = "|---|" + "---:|" * len(METRIC_COLUMNS)
    lines = [head, sep]
    for name, m in results.items():
        cells = ["-" if math.isnan(m[k]) else fmt.format(m[k] * scale) for k, _, scale, fmt in METRIC_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

