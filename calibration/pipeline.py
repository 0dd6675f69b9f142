"""`k3dn quantize` end to end, per backend and recipe:

calibrate on the shared set -> (optional) sensitivity + mixed-precision search -> write -> audit (the
export's graph audits) -> parity against the float model (export.parity, int8 budget) -> score on
the evaluation set in the real runtime -> sidecar JSON -> atomic rename.

As in export.pipeline, an artifact only appears under its final name after its audit and parity check
passed; a missing toolchain skips a recipe with the reason; one recipe failing does not stop the others.
"""

from __future__ import annotations

import importlib
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from k3dn import files
from k3dn.export.common import (
    artifact_name,
    missing_modules,
    path_size,
    remove_path,
    temp_path,
    write_json_atomic,
)
from k3dn.export.lower import LoweredK3DN, lower
from k3dn.export.parity import PARITY_SEEDS, Budget, ParityError, ParityResult, check_parity, parity_pairs
from k3dn.export.pipeline import check_size, sidecar_json
from k3dn.export.runners import RuntimeUnavailable, TorchRunner, open_runner
from k3dn.network.model import K3DN

from .calib_set import CalibSet
from .coreml import W8A8_NOTE, CoreMLW8
from .executorch import ExecuTorchInt8
from .onnx import OnnxInt8
from .recipe import Recipe
from .report import BUDGET_DB, Row, Scores, score, score_outputs
from .sensitivity import LayerSensitivity, MixedResult, layer_sensitivity, mixed_precision
from .tflite import TFLiteDynamicInt8, TFLiteInt8

RECIPES: dict[str, tuple[type[Recipe], ...]] = {
    "executorch": (ExecuTorchInt8,),
    "onnx": (OnnxInt8,),
    "tflite": (TFLiteInt8, TFLiteDynamicInt8),
    "coreml": (CoreMLW8,),
}
# Parity of an int8 artifact against the float model on export.parity's synthetic pairs: a sanity bound
# (broken scales or a mis-lowered op land far below it); the quality budget is the eval-set drop.
INT8_PARITY = Budget(max_abs=None, min_psnr=30.0)
# Layers the confirmation on the whole eval set may add to the subset's mix: each one is a full
# measurement, and past the few large-ranked layers the rest cost hundredths of a dB each.
CONFIRM_MAX_ADDED = 6
Progress = Callable[[str], None]


@dataclass
class Outcome:
    row: Row
    sidecar: Path | None = None
    sensitivity: list[LayerSensitivity] = field(default_factory=list)
    mixed: MixedResult | None = None
    parity: ParityResult | None = None
    seconds: float = 0.0
    detail: str = ""


def fp32_reference(name: str, lowered: LoweredK3DN, size: tuple[int, int], tmpdir: Path, items: Sequence[dict],
                   reference: Sequence[np.ndarray], float_psnr_gt: float, progress: bool = True) -> Row:
    """The backend's fp32 artifact (for the size budget) and its scores in its runtime (if it runs here)."""
    mod = importlib.import_module(f"k3dn.export.{name}")
    missing = missing_modules(mod.REQUIRES)
    if missing:
        return Row(name, "fp32", None, None, None, None, float_psnr_gt, status="skipped",
                   note=f"{', '.join(missing)} not installed")
    path = tmpdir / artifact_name(lowered.config.name, size, "fp32", mod.SUFFIX)
    example = tuple(torch.from_numpy(x) for x in parity_pairs(*size, seeds=(0,))[0])
    kwargs = {"precision": "fp32"} if name == "coreml" else {}
    getattr(mod, f"export_{name}")(lowered, example, path, **kwargs)
    size_bytes = path_size(path)
    try:
        with open_runner(path, verify=False) as runner:  # just written here, in a private temporary folder
            scores = score(runner, items, reference, desc=f"{name} fp32", progress=progress)
        note = ""
    except RuntimeUnavailable as exc:
        scores, note = None, f"numerics skipped: {exc}"
    return Row(name, "fp32", path.name, size_bytes, size_bytes, scores, float_psnr_gt, note=note)


def _io_dtypes(runner) -> dict | None:
    """Input/output dtypes and quantization of a LiteRT artifact (full-integer models may take int8)."""
    details = getattr(runner, "inputs", None)
    if details is None:
        return None
    out = {n: {"dtype": np.dtype(d["dtype"]).name, "quantization": [float(q) for q in d["quantization"]]}
           for n, d in details.items()}
    o = runner.output
    out["sharp"] = {"dtype": np.dtype(o["dtype"]).name, "quantization": [float(q) for q in o["quantization"]]}
    return out


def quantize_recipe(
    recipe_cls: type[Recipe], model: K3DN, lowered: LoweredK3DN, size: tuple[int, int], out_dir: Path,
    calib: CalibSet, items: Sequence[dict], reference: Sequence[np.ndarray], float_scores: Scores,
    fp32_bytes: int | None, weights_info: dict, budget_db: float | None = None, search_n: int = 6,
    sensitivity: bool = False, progress: Progress = print, bars: bool = True,
    float_layers: Sequence[str] | None = None, start_layers: Sequence[str] | None = None,
) -> Outcome:
    """Calibrate, optionally search a mixed-precision mix, write, audit, check and score one recipe.

    `float_layers` replaces the recipe's default float layers (e.g. a mix found earlier, from numerics.json).
    `start_layers` is where a `budget_db` search starts (default: the recipe's float layers); the per-layer
    ranking is only computed if that mix misses the budget."""
    name, precision = recipe_cls.backend, recipe_cls.precision
    row = Row(name, precision, None, None, fp32_bytes, None, float_scores.psnr_gt)
    missing = missing_modules(recipe_cls.requires)
    if missing:
        row.status, row.note = "skipped", f"{', '.join(missing)} not installed (pip install -e '.[export]')"
        return Outcome(row)
    final = out_dir / artifact_name(model.config.name, size, precision, recipe_cls.suffix)
    sidecar = final.with_name(final.name + ".json")
    start = time.perf_counter()
    recipe = recipe_cls(lowered, size)
    # The old artifact and sidecar stay until the new pair passed; both are then replaced together (k3dn.files).
    tmp, tmp_sidecar = temp_path(final), temp_path(sidecar)
    outcome = Outcome(row)
    try:
        inputs = calib.inputs(size)
        if recipe.needs_calibration:
            progress(f"  {name} {precision}: calibrating on {len(inputs)} inputs of {size[0]}x{size[1]} "
                     f"({len(calib)} pairs, sha256 {calib.sha256[:12]})")
        recipe.calibrate(inputs, progress=bars)
        reason = "the mix given for these weights (e.g. published in numerics.json)"
        float_layers = list(recipe.default_float_layers if float_layers is None else float_layers)
        if start_layers is not None:  # a mix published for other weights may name layers this graph lacks
            start_layers = [layer for layer in start_layers if layer in recipe.layers]
        if (budget_db is not None or sensitivity) and recipe_cls.searchable():
            sub, sub_ref = items[:search_n], reference[:search_n]
            sub_float = score_outputs(sub_ref, sub, sub_ref, with_ssim=False).psnr_gt

            def rank() -> list[LayerSensitivity]:
                progress(f"  {name}: per-layer sensitivity over {len(recipe.layers)} layers on {len(sub)} eval pairs")
                return layer_sensitivity(recipe, sub, sub_ref, sub_float, progress=progress)

            ranking = rank() if sensitivity else None
            if budget_db is not None:
                mixed, ranking = mixed_precision(recipe, ranking, sub, sub_ref, sub_float, budget_db, rank=rank,
                                                 progress=progress, start=start_layers)
                if len(items) > len(sub):
                    progress(f"  {name}: confirming the mix on all {len(items)} eval pairs")
                    search_steps = mixed.steps
                    mixed, ranking = mixed_precision(recipe, ranking, items, reference, float_scores.psnr_gt,
                                                     budget_db, rank=rank, progress=progress,
                                                     start=mixed.float_layers, max_added=CONFIRM_MAX_ADDED)
                    mixed.steps = search_steps + mixed.steps
                outcome.mixed, float_layers = mixed, mixed.float_layers
                reason = f"mixed precision, budget {budget_db} dB" + (
                    "" if start_layers is None else ", searched from the mix published for earlier weights")
            outcome.sensitivity = list(ranking or [])
        recipe.write(tmp, float_layers)
        audit = importlib.import_module(f"k3dn.export.{name}").__dict__[f"audit_{name}"](tmp).check()
        inputs_desc = f"{len(PARITY_SEEDS)} synthetic DP pairs {size[0]}x{size[1]} (export.parity seeds)"
        io = None
        try:
            with open_runner(tmp, verify=False) as runner:  # its sidecar is written from these bytes below
                parity = check_parity(runner, TorchRunner(model), parity_pairs(*size), INT8_PARITY, name,
                                      inputs=inputs_desc)
                io = _io_dtypes(runner)
                if parity.passed:
                    row.scores = score(runner, items, reference, desc=f"{name} {precision}", progress=bars)
        except RuntimeUnavailable as exc:
            parity = ParityResult(name, name, None, None, INT8_PARITY, None, skipped=str(exc), inputs=inputs_desc)
            row.note = f"numerics skipped: {exc}"
        outcome.parity = parity
        if parity.passed is False:
            raise ParityError(f"{name} {precision}: PSNR vs float {parity.psnr:.1f} dB on the parity pairs, "
                              f"budget {INT8_PARITY.describe()}")
        row.float_layers = float_layers
        if recipe_cls is CoreMLW8:
            row.note = "; ".join(x for x in (row.note, W8A8_NOTE) if x)
        seconds = time.perf_counter() - start
        row.bytes = path_size(tmp)
        meta = sidecar_json(model, size, weights_info, name, precision, final, tmp, audit, parity, seconds)
        for key, value in (io or {}).items():  # a full-integer .tflite may take and return int8
            side = meta["io"]["outputs" if key == "sharp" else "inputs"]
            side[key] = dict(side[key], dtype=value["dtype"])
            if value["dtype"] != "float32":
                side[key]["quantization"] = {"scale": value["quantization"][0],
                                             "zero_point": int(value["quantization"][1])}
        meta["quantization"] = {
            "recipe": recipe_cls.__name__, "scheme": recipe.scheme, "precision": precision,
            "calibration_set": calib.describe() | {"inputs": len(inputs), "input_size": list(size)}
            if recipe.needs_calibration else None,
            "float_layers": float_layers,
            "float_layers_reason": recipe.default_float_reason
            if float_layers == list(recipe.default_float_layers) else reason,
            "eval": {"set": f"k3dn.data.make_eval_set(n={len(items)}, size={tuple(size)})",
                     "float": float_scores.to_dict(), "quantized": row.scores.to_dict() if row.scores else None,
                     "drop_db": None if row.drop_db is None else round(row.drop_db, 4)},
            "bytes": path_size(tmp), "fp32_bytes": fp32_bytes, "size_ratio": row.size_ratio,
            "budget": {"drop_db": BUDGET_DB, "size_ratio": 0.30, "pass": row.budget()},
            "mixed_precision": None if outcome.mixed is None else {
                "budget_db": budget_db, "met": outcome.mixed.met, "met_on_pairs": outcome.mixed.pairs,
                "search_pairs": len(items[:search_n]),
                "steps": outcome.mixed.steps},
            "sensitivity": [e.to_dict() for e in outcome.sensitivity],
        }
        write_json_atomic(tmp_sidecar, meta)
        files.commit([(tmp_sidecar, sidecar), (tmp, final)])
        row.artifact = final.name
        outcome.sidecar, outcome.seconds = sidecar, time.perf_counter() - start
        return outcome
    except Exception as exc:  # noqa: BLE001 - one recipe failing does not stop the others
        row.status = "failed"
        row.note = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        outcome.detail = traceback.format_exc()
        outcome.seconds = time.perf_counter() - start
        return outcome
    finally:
        remove_path(tmp)
        remove_path(tmp_sidecar)
        recipe.close()


def quantize_backends(
    names: Sequence[str], model: K3DN, size: tuple[int, int], out_dir: str | Path, calib: CalibSet,
    items: Sequence[dict], weights_info: dict, budget_db: float | None = None, search_n: int = 6,
    sensitivity: bool = False, progress: Progress = print, bars: bool = True,
    mixes: dict[tuple[str, str], list[str]] | None = None, default_budget_db: float | None = None,
    starts: dict[tuple[str, str], list[str]] | None = None,
) -> tuple[Scores, list[Row], list[Outcome]]:
    """Every recipe of every backend in `names`: (float scores, fp32 reference rows, quantized outcomes).

    Without `budget_db`, a recipe uses its mix from `mixes` ((backend, precision) -> float layers, e.g. the
    published numerics.json mix) and, where none is given, searches one within `default_budget_db` (if set).
    `starts` ((backend, precision) -> float layers) is where each budget search starts (quantize_recipe)."""
    from .report import float_outputs

    check_size(model.config, size)
    out_dir = Path(out_dir)
    lowered = lower(model)
    reference = float_outputs(model, items, progress=bars)
    float_scores = score_outputs(reference, items, reference)
    progress(f"float PyTorch model: PSNR {float_scores.psnr_gt:.2f} dB, SSIM {float_scores.ssim_gt:.4f} "
             f"on {len(items)} eval pairs")
    fp32_rows, outcomes = [], []
    with tempfile.TemporaryDirectory(prefix="k3dn-fp32-ref-") as tmpdir:
        for i, name in enumerate(names, 1):
            progress(f"[{i}/{len(names)}] {name}: fp32 reference export (size budget)")
            try:
                ref_row = fp32_reference(name, lowered, size, Path(tmpdir), items, reference, float_scores.psnr_gt,
                                         progress=bars)
            except Exception as exc:  # noqa: BLE001
                ref_row = Row(name, "fp32", None, None, None, None, float_scores.psnr_gt, status="failed",
                              note=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            fp32_rows.append(ref_row)
            for recipe_cls in RECIPES[name]:
                mix = None if budget_db is not None else (mixes or {}).get((name, recipe_cls.precision))
                budget = budget_db if budget_db is not None or mix is not None else default_budget_db
                o = quantize_recipe(recipe_cls, model, lowered, size, out_dir, calib, items, reference, float_scores,
                                    ref_row.bytes, weights_info, budget, search_n, sensitivity, progress, bars,
                                    float_layers=mix, start_layers=(starts or {}).get((name, recipe_cls.precision)))
                outcomes.append(o)
                r = o.row
                if r.status == "ok":
                    drop = "-" if r.drop_db is None else f"{r.drop_db:+.3f} dB"
                    ratio = "-" if r.size_ratio is None else f"{r.size_ratio:.1%}"
                    kept = f", float layers: {', '.join(r.float_layers)}" if r.float_layers else ""
                    progress(f"[{i}/{len(names)}] {name} {r.precision}: ok in {o.seconds:.0f} s, {r.artifact} "
                             f"({r.bytes / 1e6:.2f} MB, {ratio} of fp32), drop {drop}{kept}")
                else:
                    progress(f"[{i}/{len(names)}] {name} {r.precision}: {r.status}: {r.note}")
    return float_scores, fp32_rows, outcomes
