"""`k3dn quantize`: int8 artifacts per backend, calibrated on one shared calibration set, scored against the
float model on the project's evaluation set, with an optional per-layer sensitivity analysis and an
automatic mixed-precision mode (`--budget-db`).

Writes into --out: `k3dn_<variant>_<H>x<W>_<precision>.<ext>` + sidecar JSON per recipe (ExecuTorch int8,
ONNX int8, TFLite int8 and int8-dynamic, CoreML w8a16), the calibration set (.npz) and the quality table
(`quality_<variant>_<H>x<W>.md`); `--numerics FILE` also writes the numerics file. Exit status: 0 when
every recipe passed or was skipped for a missing toolchain, 1 when any failed, 2 for a usage error. The
`calibration` and `export` packages are imported inside run(): k3dn never imports them at import time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import files
from ..backends import QUANT_BACKENDS
from ..errors import UserError
from ..network.config import VARIANTS
from .limits import check_size, output_file
from .outdir import prepare_out

BACKEND_CHOICES = (*QUANT_BACKENDS, "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKEND_CHOICES, action="append", required=True,
                        help="target (repeatable); 'all' = executorch, onnx, tflite, coreml")
    parser.add_argument("--size", required=True, help="static input size HxW of the artifacts, multiples of 16")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--budget-db", type=float, default=None,
                        help="mixed precision: keep the most sensitive layers in float until the PSNR drop vs the "
                             "float model (against ground truth) is at most this many dB (default: the mix "
                             "published in numerics.json for these weights, else a search within 0.2 dB)")
    parser.add_argument("--warm-start", action="store_true",
                        help="with --budget-db: start each backend's search from the mix numerics.json publishes "
                             "(measured on earlier weights, e.g. the stage this one was fine-tuned from); when it "
                             "meets the budget, the per-layer sensitivity analysis (most of the run) is skipped. It "
                             "may keep more layers in float than a search from all-int8 would")
    parser.add_argument("--sensitivity", action="store_true",
                        help="run the per-layer sensitivity analysis even when the budget is met (or without one)")
    parser.add_argument("--calib", type=int, default=64, help="calibration pairs (default 64)")
    parser.add_argument("--calib-size", type=int, default=128, help="stored calibration pair size (default 128)")
    parser.add_argument("--calib-folder", action="append", default=[],
                        help="add crops from a DPDD root or a `k3dn synth` folder (repeatable; at most half the set)")
    parser.add_argument("--calib-set", help="use this calibration .npz instead of building one")
    parser.add_argument("--seed", type=int, default=0, help="calibration set seed (default 0)")
    parser.add_argument("--eval-n", type=int, default=24,
                        help="pairs of the fixed eval set (k3dn.data.make_eval_set at --size), default 24")
    parser.add_argument("--search-n", type=int, default=6,
                        help="eval pairs the sensitivity ranking and mixed-precision search measure on (default 6); "
                             "the chosen mix is then confirmed, and extended if needed, on all --eval-n pairs")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="tiny", help="model variant (default tiny)")
    parser.add_argument("--weights", help="safetensors weights (default: the shipped weights of the variant)")
    parser.add_argument("--numerics", help="also write the numerics file (JSON) here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def canonical_command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run (recorded in the numerics file)."""
    parts = ["k3dn quantize"] + [f"--backend {b}" for b in args.backend] + [f"--size {args.size}", f"--out {args.out}"]
    if args.budget_db is not None:
        parts.append(f"--budget-db {args.budget_db:g}")
    if args.warm_start:
        parts.append("--warm-start")
    if args.sensitivity:
        parts.append("--sensitivity")
    parts += [f"--calib {args.calib}", f"--calib-size {args.calib_size}", f"--seed {args.seed}",
              f"--eval-n {args.eval_n}", f"--search-n {args.search_n}"]
    parts += [f"--calib-folder {f}" for f in args.calib_folder]
    for flag, value in (("--calib-set", args.calib_set), ("--weights", args.weights), ("--numerics", args.numerics)):
        if value:
            parts.append(f"{flag} {value}")
    if args.variant != "tiny":
        parts.append(f"--variant {args.variant}")
    return " ".join(parts)


def _validate(args: argparse.Namespace) -> tuple[int, int]:
    from k3dn.export.common import parse_size

    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    check_size(size)
    check_size((args.calib_size, args.calib_size), "--calib-size")
    if args.calib <= 0:
        raise UserError(f"--calib must be a positive number of pairs, got {args.calib}")
    if args.calib_size < 16 or args.calib_size % 16:
        raise UserError(f"--calib-size must be a multiple of 16 and >= 16, got {args.calib_size}")
    if args.eval_n <= 0 or args.search_n <= 0:
        raise UserError(f"--eval-n and --search-n must be positive, got {args.eval_n}, {args.search_n}")
    if args.budget_db is not None and args.budget_db < 0:
        raise UserError(f"--budget-db must be >= 0, got {args.budget_db}")
    if args.warm_start and args.budget_db is None:
        raise UserError("--warm-start starts the --budget-db search; give --budget-db too")
    return size


def published_mixes(names: list[str], state_sha256: str) -> dict[tuple[str, str], list[str]]:
    """The float layers numerics.json publishes for each recipe of `names` on these weights; says on stderr
    which recipes use them and which have none, so those search a mix within the default budget instead of
    silently going all-int8 (which misses the budget on every PT2E backend)."""
    from k3dn.calibration.report import BUDGET_DB

    recorded = recorded_mixes(names, state_sha256)
    mixes = {key: layers for key, (layers, _) in recorded.items() if layers is not None}
    missing = [f"{b} {p}" for (b, p), (layers, _) in recorded.items() if layers is None]
    if mixes:
        print("k3dn quantize: no --budget-db: " + ", ".join(f"{b} {p}" for b, p in mixes)
              + " use the mix published in numerics.json for these weights", file=sys.stderr)
    if missing:
        print(f"k3dn quantize: no int8 mix is recorded for these weights for {', '.join(missing)}: searching one "
              f"within the {BUDGET_DB:g} dB budget (--budget-db to choose another)", file=sys.stderr)
    return mixes


def recorded_mixes(names: list[str], state_sha256: str | None) -> dict[tuple[str, str], tuple[list[str] | None, type]]:
    """(backend, precision) -> (the float layers numerics.json records for it on these weights, or on any with None;
    None where it records none, the recipe class) for every recipe of `names`."""
    from k3dn.artifacts import recorded_float_layers
    from k3dn.calibration.pipeline import RECIPES

    return {(name, r.precision): (recorded_float_layers(name, r.precision, state_sha256), r)
            for name in names for r in RECIPES[name]}


def warm_starts(names: list[str]) -> dict[tuple[str, str], list[str]]:
    """--warm-start: the float layers numerics.json publishes for each searchable recipe of `names`, on whichever
    weights it was measured; says on stderr which recipes start there and which from their default."""
    starts = {key: layers for key, (layers, recipe_cls) in recorded_mixes(names, None).items()
              if layers is not None and recipe_cls.searchable()}
    print("k3dn quantize: --warm-start: " + (", ".join(f"{b} {p} from [{', '.join(v) or 'all int8'}]"
                                                      for (b, p), v in starts.items()) or "no published mix")
          + " (numerics.json)", file=sys.stderr)
    return starts


def run(args: argparse.Namespace) -> int:
    try:
        from k3dn.calibration.calib_set import build_calib_set, load_calib_set
        from k3dn.calibration.pipeline import RECIPES, quantize_backends
        from k3dn.calibration.report import BUDGET_DB, format_table, numerics
        from k3dn.export.common import write_json_atomic
    except ImportError as exc:
        raise UserError(f"the calibration/export packages are not importable ({exc}); "
                        "install with pip install -e '.[export]'") from exc
    from k3dn.export.common import missing_modules

    from ..data import make_eval_set
    from ..data.datasets import EVAL_SEED
    from .export import load_checked_model

    size = _validate(args)
    names = list(RECIPES) if "all" in args.backend else list(dict.fromkeys(args.backend))
    runnable = [r for name in names for r in RECIPES[name] if not missing_modules(r.requires)]
    if not runnable:  # refused before --out is created
        raise UserError(f"no backend could run here: the toolchains of {', '.join(names)} are not installed "
                        "(pip install -e '.[export]')")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UserError(f"--out {args.out}: exists and is not a folder")
    if args.numerics:
        output_file(args.numerics, "--numerics")
    model, weights_info = load_checked_model(args.variant, args.weights, size)
    bars = not args.no_progress

    if args.calib_set:
        try:
            calib = load_calib_set(args.calib_set)
        except (ValueError, FileNotFoundError) as exc:
            raise UserError(f"--calib-set: {exc}") from exc
    else:
        try:
            calib = build_calib_set(args.calib, (args.calib_size, args.calib_size), args.seed, args.calib_folder,
                                    progress=bars)
        except (ValueError, FileNotFoundError) as exc:
            raise UserError(f"calibration set: {exc}") from exc
    out = prepare_out(args.out)  # only once every input was accepted: a refused run leaves no empty folder
    if not args.calib_set:
        calib.save(out / f"calib_{len(calib)}x{args.calib_size}_seed{args.seed}.npz")
    print(f"k3dn quantize: {model.config.name} at {size[0]}x{size[1]}, weights {weights_info['source']}, "
          f"calibration set {len(calib)} pairs {calib.size[0]}x{calib.size[1]} (sha256 {calib.sha256[:12]}), -> {out}")
    items = make_eval_set(n=args.eval_n, size=size, seed=EVAL_SEED)
    mixes = {} if args.budget_db is not None else published_mixes(names, weights_info["state_sha256"])
    starts = warm_starts(names) if args.warm_start else {}
    float_scores, fp32_rows, outcomes = quantize_backends(
        names, model, size, out, calib, items, weights_info, budget_db=args.budget_db, search_n=args.search_n,
        sensitivity=args.sensitivity, bars=bars, mixes=mixes, starts=starts,
        default_budget_db=None if args.budget_db is not None else BUDGET_DB)

    rows = [r for name in names for r in [next(f for f in fp32_rows if f.backend == name)]
            + [o.row for o in outcomes if o.row.backend == name]]
    table = format_table(rows, float_scores)
    print(f"\nQuality on make_eval_set(n={len(items)}, size={size[0]}x{size[1]}) against the float model\n{table}")
    files.write_text(out / f"quality_{model.config.name}_{size[0]}x{size[1]}.md", table + "\n")
    for o in outcomes:
        if o.sensitivity:
            print(f"\n{o.row.backend} {o.row.precision}: per-layer sensitivity (only that layer int8), most sensitive "
                  "first\n" + "\n".join(f"  {e.layer:<32} PSNR vs float {e.psnr_vs_float:6.1f} dB  drop "
                                         f"{e.drop_db:+.3f} dB" for e in o.sensitivity[:15]))
        if o.mixed is not None:
            kept = ", ".join(o.mixed.float_layers) or "none"
            final = "-" if o.row.drop_db is None else f"{o.row.drop_db:+.3f} dB"
            budget = BUDGET_DB if args.budget_db is None else args.budget_db
            print(f"{o.row.backend} {o.row.precision}: layers kept in float: {kept}; searched on "
                  f"{min(args.search_n, len(items))} pairs, drop of the chosen mix on {o.mixed.pairs} pairs "
                  f"{o.mixed.drop_db:+.3f} dB ({'within' if o.mixed.met else 'OVER'} {budget:g} dB), "
                  f"final drop in the runtime {final}")
        if o.detail:
            print(f"\n{o.row.backend} {o.row.precision}: {o.row.note}\n{o.detail}", file=sys.stderr)
    if args.numerics:
        extra = {"details": {f"{o.row.backend}/{o.row.precision}": {
            "sensitivity": [e.to_dict() for e in o.sensitivity],
            "mixed_precision": None if o.mixed is None else {"float_layers": o.mixed.float_layers,
                                                             "steps": o.mixed.steps, "met": o.mixed.met,
                                                             "met_on_pairs": o.mixed.pairs},
            "parity": o.parity.to_dict() if o.parity else None} for o in outcomes}}
        obj = numerics(canonical_command(args), weights_info, size,
                       {"function": "k3dn.data.make_eval_set", "n": len(items), "size": list(size), "seed": EVAL_SEED},
                       calib.describe() | {"names": None}, float_scores, rows, extra)
        write_json_atomic(Path(args.numerics), json.loads(json.dumps(obj, default=str)))
        print(f"\nnumerics written to {args.numerics}")
    statuses = [o.row.status for o in outcomes]
    if all(s == "skipped" for s in statuses):
        raise UserError("no backend could run here: " + "; ".join(f"{o.row.backend}: {o.row.note}" for o in outcomes))
    if "failed" in statuses:
        failed = [f"{o.row.backend} {o.row.precision}" for o in outcomes if o.row.status == "failed"]
        print(f"\nk3dn quantize: FAILED for {', '.join(failed)}; no artifact was kept for them")
        return 1
    return 0
