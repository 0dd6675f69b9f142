"""Artifacts exported once per (weights, backend, precision, tile size) and kept in the user's cache.

`k3dn deblur --backend executorch` (and `k3dn bench`) need an artifact of the tile size they run; exporting
one takes 15 s to a few minutes, so it is done on first use and reused:

    <cache>/artifacts/<state sha256 of the weights, 16 hex>/k3dn_tiny_<H>x<W>_<precision>.<ext> (+ .json sidecar)

`<cache>` is `$K3DN_CACHE` if set, else `$XDG_CACHE_HOME/k3dn`, else `~/.cache/k3dn`. A cached artifact is
reused only if its sidecar names the same weights (state sha256) and export revision
(`export.common.EXPORT_REVISION`: an artifact from an older export of the same weights is stale) and its bytes
match the sidecar's sha256
(`k3dn.camera.runners.read_sidecar`); anything else is exported again. Exports go through the same pipeline as
`k3dn export` / `k3dn quantize`, with their parity checks, so a cached artifact passed the same budgets.

int8 artifacts use the mixed-precision mix recorded in calibration/numerics.json when the weights are the
ones it was measured on, else a mix searched within the 0.2 dB budget (said on the progress line; the
recipe's default float layers where a recipe cannot search), and a 16-pair calibration set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from k3dn import files
from k3dn.backends import BACKENDS
from k3dn.camera.runners import read_sidecar
from k3dn.errors import ArtifactError

from .export.common import EXPORT_REVISION, artifact_name
from .export.weights import model_and_source

SUFFIX = {name: b.suffix for name, b in BACKENDS.items()}
# What each backend stores for a requested precision: CoreML keeps fp16 for "fp32" and w8a16 for "int8" (and the
# ExecuTorch CoreML delegate fp16 for "fp32").
STORED = {("coreml", "fp32"): "fp16", ("coreml", "int8"): "w8a16", ("executorch-coreml", "fp32"): "fp16"}
PRECISIONS = ("fp32", "fp16", "int8", "int8-dynamic", "w8a16")
FLOAT_PRECISIONS = ("fp32", "fp16")
# The published mix, installed with k3dn.calibration as package data (a plain install carries it too).
NUMERICS = resources.files("k3dn.calibration") / "numerics.json"
CALIB_PAIRS = 16


def cache_root() -> Path:
    """$K3DN_CACHE, else $XDG_CACHE_HOME/k3dn, else ~/.cache/k3dn."""
    if os.environ.get("K3DN_CACHE"):
        return Path(os.environ["K3DN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "k3dn"


def recorded_float_layers(backend: str, precision: str, state_sha256: str | None) -> list[str] | None:
    """The mix numerics.json recorded for `backend` `precision`, if it was measured on these weights
    (`state_sha256`; None: whichever weights it was measured on, e.g. to start a search for new weights)."""
    try:
        numerics = json.loads(NUMERICS.read_text())
    except (OSError, ValueError):
        return None
    if state_sha256 is not None and numerics.get("weights", {}).get("state_sha256") != state_sha256:
        return None
    for row in numerics.get("rows", []):
        if row.get("backend") == backend and row.get("precision") == precision and row.get("status") == "ok":
            return list(row.get("float_layers") or [])
    return None


def expected_quantization(backend: str, precision: str, state_sha256: str) -> dict | None:
    """What a calibrated artifact built now would record: its recipe's scheme and the layers kept in float (the
    numerics.json mix for these weights, else the recipe's default). None if no recipe makes `precision`."""
    from k3dn.calibration.pipeline import RECIPES
    from k3dn.calibration.report import BUDGET_DB

    recipe_cls = next((r for r in RECIPES.get(backend, ()) if r.precision == precision), None)
    if recipe_cls is None:
        return None
    layers = recorded_float_layers(backend, precision, state_sha256)
    if layers is None and recipe_cls.searchable():
        # no published mix for these weights: a build searches one within the budget (any layers it found)
        return {"scheme": recipe_cls.scheme, "float_layers": None, "budget_db": BUDGET_DB}
    return {"scheme": recipe_cls.scheme,
            "float_layers": sorted(recipe_cls.default_float_layers if layers is None else layers)}


def _valid(path: Path, state_sha256: str, calib_pairs: int | None, expected: dict | None = None) -> bool:
    """The artifact's bytes match its sidecar, which names these weights (and, for a calibrated artifact,
    a calibration set of `calib_pairs` pairs and the `expected` recipe scheme and float layers: an artifact made
    by an older recipe or for another published mix is stale)."""
    try:
        meta = read_sidecar(path, verify=True) if path.exists() else {}
    except ArtifactError:
        return False
    if not meta or meta.get("weights", {}).get("state_sha256") != state_sha256:
        return False
    if meta.get("export_revision") != EXPORT_REVISION:  # made by an older export: same weights, other program
        return False
    quant = meta.get("quantization") or {}
    if expected is not None and quant.get("scheme") != expected["scheme"]:
        return False
    if expected is not None and expected["float_layers"] is None:
        if (quant.get("mixed_precision") or {}).get("budget_db") != expected["budget_db"]:
            return False
    elif expected is not None and sorted(quant.get("float_layers") or []) != expected["float_layers"]:
        return False
    calib = quant.get("calibration_set")
    return calib_pairs is None or calib is None or calib.get("pairs") == calib_pairs


def cached_artifact(backend: str, precision: str, size: tuple[int, int], weights: str | Path | None = None,
                    progress: Callable[[str], None] = print, cache_dir: Path | None = None,
                    calib_pairs: int = CALIB_PAIRS, build: bool = True, variant: str = "tiny",
                    loaded: tuple | None = None) -> Path:
    """The path of a checked artifact for these weights (default: the shipped `variant`), exported if not cached.

    precision: fp32 | int8 (CoreML stores fp16 / w8a16 for them), or a recipe's own name (int8-dynamic, fp16,
    w8a16). Calibrated artifacts use `calib_pairs` simulated pairs and the mix numerics.json records for these
    weights (else the recipe's default float layers). `k3dn deblur --backend` and `k3dn bench` share this cache.
    `loaded`: `model_and_source(variant, weights)`'s result when the caller already has it (k3dn bench asks for a
    dozen artifacts of the same weights; loading and hashing them each time cost ~0.5 s per row).
    Raises ArtifactError if the artifact is not cached and `build` is False, or if its export or parity check
    fails (with the pipeline's reason).
    """
    if backend not in SUFFIX:
        raise ArtifactError(f"no exporter for backend {backend!r}; choose from {sorted(SUFFIX)}")
    if precision not in PRECISIONS:
        raise ArtifactError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    model, info = loaded if loaded is not None else model_and_source(variant, weights)
    out_dir = (cache_dir or cache_root()) / "artifacts" / info["state_sha256"][:16]
    stored = STORED.get((backend, precision), precision)
    path = out_dir / artifact_name(model.config.name, size, stored, SUFFIX[backend])
    calibrated = stored not in FLOAT_PRECISIONS
    expected = expected_quantization(backend, stored, info["state_sha256"]) if calibrated else None
    if _valid(path, info["state_sha256"], calib_pairs if calibrated else None, expected):
        return path
    if not build:
        raise ArtifactError(f"no checked {path.name} in {out_dir}")
    for stale in (path, path.with_name(path.name + ".json")):  # read only to be rejected: the rebuild replaces them
        files.forget_input(stale)
    out_dir.mkdir(parents=True, exist_ok=True)
    progress(f"exporting {backend} {stored} {size[0]}x{size[1]} once into {out_dir} (reused afterwards)")
    if stored in FLOAT_PRECISIONS:
        from .export.pipeline import export_backend, precisions

        if stored not in precisions(backend):
            raise ArtifactError(f"{backend} exports {', '.join(precisions(backend))}, not {stored}")
        outcome = export_backend(backend, model, size, out_dir, info, precision=stored)
        if outcome.status != "ok":
            raise ArtifactError(f"{backend} export at {size[0]}x{size[1]} {outcome.status}: {outcome.reason}")
        return outcome.artifact
    return _quantize(backend, stored, model, info, size, out_dir, path, calib_pairs, progress)


def _quantize(backend: str, precision: str, model, info: dict, size: tuple[int, int], out_dir: Path, path: Path,
              calib_pairs: int, progress: Callable[[str], None]) -> Path:
    from k3dn.calibration.calib_set import build_calib_set
    from k3dn.calibration.pipeline import RECIPES, quantize_recipe
    from k3dn.calibration.report import BUDGET_DB, float_outputs, score_outputs
    from k3dn.data import make_eval_set

    from .export.lower import lower

    recipe_cls = next((r for r in RECIPES[backend] if r.precision == precision), None)
    if recipe_cls is None:
        raise ArtifactError(f"no {backend} {precision} recipe; choose from "
                            f"{[r.precision for r in RECIPES[backend]]}")
    layers = recorded_float_layers(backend, precision, info["state_sha256"])
    budget = BUDGET_DB if layers is None and recipe_cls.searchable() else None
    if budget is not None:
        progress(f"no {backend} {precision} mix is recorded for these weights (numerics.json): searching one "
                 f"within the {BUDGET_DB:g} dB budget instead of quantizing every layer")
    items = make_eval_set(n=4, size=size)
    reference = float_outputs(model, items, progress=False)
    scores = score_outputs(reference, items, reference)
    calib = build_calib_set(calib_pairs, progress=False)
    outcome = quantize_recipe(recipe_cls, model, lower(model), size, out_dir, calib, items, reference, scores, None,
                              info, budget_db=budget, bars=False, float_layers=layers, progress=lambda _msg: None)
    if outcome.row.status != "ok":
        raise ArtifactError(f"{backend} {precision} at {size[0]}x{size[1]} failed: {outcome.row.note}")
    return path
