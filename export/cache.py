"""Artifacts exported once per (weights, backend, precision, tile size) and kept in the user's cache.

`k3dn deblur --backend executorch` (and `k3dn bench`) need an artifact of the tile size they run; exporting
one takes 15 s to a few minutes, so it is done on first use and reused:

    <cache>/artifacts/<state sha256 of the weights, 16 hex>/k3dn_tiny_<H>x<W>_<precision>.<ext> (+ .json sidecar)

`<cache>` is `$K3DN_CACHE` if set, else `$XDG_CACHE_HOME/k3dn`, else `~/.cache/k3dn`. A cached artifact is
reused only if its sidecar names the same weights (state sha256) and its bytes match the sidecar's sha256
(`k3dn.runners.read_sidecar`); anything else is exported again. Exports go through the same pipeline as
`k3dn export` / `k3dn quantize`, with their parity checks, so a cached artifact passed the same budgets.

int8 artifacts use the mixed-precision mix recorded in calibration/numerics.json when the weights are the
ones it was measured on, else the recipe's default float layers, and a 16-pair calibration set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from k3dn.errors import ArtifactError
from k3dn.runners import read_sidecar

from .common import artifact_name
from .weights import load_model

SUFFIX = {"executorch": "pte", "tflite": "tflite", "onnx": "onnx", "coreml": "mlpackage"}
PRECISIONS = ("fp32", "int8")
NUMERICS = Path(__file__).resolve().parent.parent / "calibration" / "numerics.json"
CALIB_PAIRS = 16


def cache_root() -> Path:
    """$K3DN_CACHE, else $XDG_CACHE_HOME/k3dn, else ~/.cache/k3dn."""
    if os.environ.get("K3DN_CACHE"):
        return Path(os.environ["K3DN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "k3dn"


def recorded_float_layers(backend: str, state_sha256: str) -> list[str] | None:
    """The int8 mix numerics.json recorded for `backend`, if it was measured on these weights."""
    try:
        numerics = json.loads(NUMERICS.read_text())
    except (OSError, ValueError):
        return None
    if numerics.get("weights", {}).get("state_sha256") != state_sha256:
        return None
    for row in numerics.get("rows", []):
        if row.get("backend") == backend and row.get("precision") == "int8" and row.get("status") == "ok":
            return list(row.get("float_layers") or [])
    return None


def _valid(path: Path, state_sha256: str) -> bool:
    try:
        meta = read_sidecar(path, verify=True) if path.exists() else {}
    except ArtifactError:
        return False
    return bool(meta) and meta.get("weights", {}).get("state_sha256") == state_sha256


def cached_artifact(backend: str, precision: str, size: tuple[int, int], weights: str | Path | None = None,
                    progress: Callable[[str], None] = print, cache_dir: Path | None = None) -> Path:
    """The path of a checked artifact for these weights (default: shipped Tiny), exporting it if not cached.

    Raises ArtifactError if the export or its parity check fails, with the pipeline's reason.
    """
    if backend not in SUFFIX:
        raise ArtifactError(f"no exporter for backend {backend!r}; choose from {sorted(SUFFIX)}")
    if precision not in PRECISIONS:
        raise ArtifactError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    model, info = load_model("tiny", weights)
    out_dir = (cache_dir or cache_root()) / "artifacts" / info["state_sha256"][:16]
    stored = "fp16" if backend == "coreml" and precision == "fp32" else precision
    if backend == "coreml" and precision == "int8":
        stored = "w8a16"
    path = out_dir / artifact_name(model.config.name, size, stored, SUFFIX[backend])
    if _valid(path, info["state_sha256"]):
        return path
    out_dir.mkdir(parents=True, exist_ok=True)
    progress(f"exporting {backend} {precision} {size[0]}x{size[1]} once into {out_dir} (reused afterwards)")
    if precision == "fp32":
        from .pipeline import export_backend

        outcome = export_backend(backend, model, size, out_dir, info)
        if outcome.status != "ok":
            raise ArtifactError(f"{backend} export at {size[0]}x{size[1]} {outcome.status}: {outcome.reason}")
        return outcome.artifact
    return _quantize(backend, model, info, size, out_dir, path)


def _quantize(backend: str, model, info: dict, size: tuple[int, int], out_dir: Path, path: Path) -> Path:
    from calibration.calib_set import build_calib_set
    from calibration.pipeline import RECIPES, quantize_recipe
    from calibration.report import float_outputs, score_outputs
    from k3dn.data import make_eval_set

    from .lower import lower

    recipe_cls = next(r for r in RECIPES[backend] if r.precision in ("int8", "w8a16"))
    items = make_eval_set(n=4, size=size)
    reference = float_outputs(model, items, progress=False)
    scores = score_outputs(reference, items, reference)
    calib = build_calib_set(CALIB_PAIRS, progress=False)
    outcome = quantize_recipe(recipe_cls, model, lower(model), size, out_dir, calib, items, reference, scores, None,
                              info, bars=False, float_layers=recorded_float_layers(backend, info["state_sha256"]),
                              progress=lambda _msg: None)
    if outcome.row.status != "ok":
        raise ArtifactError(f"{backend} int8 at {size[0]}x{size[1]} failed: {outcome.row.note}")
    return path
