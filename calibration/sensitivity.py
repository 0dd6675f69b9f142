"""Per-layer sensitivity and the automatic mixed-precision search.

Sensitivity: quantize one layer at a time (every other layer float) and measure how far its output
moves from the float model (PSNR vs float) and how much PSNR against ground truth it costs (drop).
Mixed precision: start from the recipe's full int8 mix; while the drop exceeds the dB budget, keep the
next most sensitive layer (lowest PSNR vs float when quantized alone) in float and measure again.

The search measures candidates with `Recipe.candidate` (PT2E recipes: the q/dq graph simulated in
PyTorch; ONNX: ONNX Runtime itself). The pipeline ranks and searches on a subset of the evaluation set,
then confirms the chosen mix on the whole set, going on down the same ranking there if it misses (a
6-pair subset can under-state the drop by half), before it writes the mix and measures it in the real
runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .recipe import Recipe
from .report import Scores, score


@dataclass
class LayerSensitivity:
    layer: str
    psnr_vs_float: float  # output PSNR vs the float model with only this layer quantized
    drop_db: float  # float PSNR(GT) - PSNR(GT) with only this layer quantized

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass
class MixedResult:
    float_layers: list[str]
    scores: Scores
    drop_db: float
    met: bool
    steps: list[dict]  # every measured mix: float layers, its drop and how many pairs measured it

    @property
    def pairs(self) -> int:
        """Eval pairs behind `drop_db` and `met`: those of the last measured mix."""
        return self.steps[-1]["pairs"]


def layer_sensitivity(recipe: Recipe, items: Sequence[dict], reference: Sequence[np.ndarray], float_psnr_gt: float,
                      progress: Callable[[str], None] | None = None,
                      layers: Sequence[str] | None = None) -> list[LayerSensitivity]:
    """One entry per analysed layer (`layers`, default every quantizable one), most sensitive (lowest PSNR
    vs float) first."""
    out = []
    layers = recipe.layers if layers is None else layers
    for i, layer in enumerate(layers, 1):
        s = score(recipe.candidate(set(recipe.layers) - {layer}), items, reference, progress=False, with_ssim=False)
        out.append(LayerSensitivity(layer, s.psnr_vs_float, float_psnr_gt - s.psnr_gt))
        if progress:
            progress(f"  sensitivity [{i}/{len(layers)}] {layer}: PSNR vs float {s.psnr_vs_float:.1f} dB, "
                     f"drop {out[-1].drop_db:+.3f} dB")
    return sorted(out, key=lambda e: e.psnr_vs_float)


def mixed_precision(recipe: Recipe, ranking: Sequence[LayerSensitivity] | None, items: Sequence[dict],
                    reference: Sequence[np.ndarray], float_psnr_gt: float, budget_db: float,
                    rank: Callable[[], Sequence[LayerSensitivity]] | None = None,
                    progress: Callable[[str], None] | None = None,
                    start: Sequence[str] | None = None,
                    max_added: int | None = None) -> tuple[MixedResult, list[LayerSensitivity]]:
    """Keep the most sensitive layers in float until the drop is within `budget_db`.

    `ranking` (or `rank()`, called only if the starting mix misses the budget) orders the layers.
    `start` is the first mix measured (default: the recipe's own float layers), so a search on a subset
    can be continued on more pairs; `max_added` caps how many layers that continuation may add (each
    costs a measurement on every pair). Returns the result and the ranking used (empty when no
    analysis was needed).
    """
    kept = list(recipe.default_float_layers if start is None else start)
    steps = []

    def measure() -> tuple[Scores, float]:
        s = score(recipe.candidate(kept), items, reference, progress=False, with_ssim=False)
        drop = float_psnr_gt - s.psnr_gt
        steps.append({"float_layers": list(kept), "drop_db": round(drop, 4),
                      "psnr_vs_float": round(s.psnr_vs_float, 3), "pairs": len(items)})
        if progress:
            progress(f"  mix with {len(kept)} float layer(s): drop {drop:+.3f} dB, PSNR vs float "
                     f"{s.psnr_vs_float:.1f} ({len(items)} pairs)")
        return s, drop

    s, drop = measure()
    if drop <= budget_db:
        return MixedResult(kept, s, drop, True, steps), list(ranking or [])
    ranking = list(ranking) if ranking else list(rank() if rank is not None else [])
    added = 0
    for entry in ranking:
        if drop <= budget_db or (max_added is not None and added >= max_added):
            break
        if entry.layer in kept:
            continue
        kept.append(entry.layer)
        added += 1
        s, drop = measure()
    return MixedResult(kept, s, drop, drop <= budget_db, steps), ranking
