"""`k3dn eval`: the paper's Table 1 metrics for Input, baselines and K3DN on an evaluation set."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import files
from ..errors import UserError
from .limits import check_count, check_max_radius, check_size, output_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="synthetic",
                        help="'synthetic' (the project's fixed eval set), 'real-dp' (seven real Canon DP scenes with "
                             "ground truth and DPDNet's outputs: validation only, see k3dn/evaluation/realdp.py), "
                             "a `k3dn synth` folder, or a DPDD root")
    parser.add_argument("--real-dp-root", default=None, metavar="DIR",
                        help="--data real-dp: the folder (default: $K3DN_REAL_DP, else ../shared/data/real-dp "
                             "beside the repository)")
    parser.add_argument("--split", default="test", help="DPDD split (train/val/test)")
    parser.add_argument("--n", type=int, default=24, help="synthetic set: number of pairs")
    parser.add_argument("--size", type=int, default=256, help="synthetic set: square image size")
    parser.add_argument("--max-radius", type=float, default=None, metavar="PX",
                        help="synthetic set: largest blur radius |c| in px (default 12, the set every figure in the "
                             "README uses; 16 reaches DPDD's Canon blur at full resolution)")
    parser.add_argument("--readout", choices=["rgb", "green"], default="rgb",
                        help="score the set as captured in colour (default), or in the green-only form of phone DP "
                             "readouts: the green channel of views, ground truth (and DPDNet's output) replicated to "
                             "three channels (k3dn/data/readout.py)")
    parser.add_argument("--render", choices=["linear", "srgb"], default="linear",
                        help="synthetic set: blur in linear light (default, as optics do) or on sRGB values "
                             "(a different simulator's convention: a robustness check)")
    parser.add_argument("--slice", choices=["all", "mild"], default="all",
                        help="synthetic set: all blur sizes (default), or the mild slice (blur radius <= 1.5 px, "
                             "in focus to phone-like small defocus: a deblurrer must not lower PSNR there)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=WEIGHTS",
                        help="a row of the table: display name and safetensors file (repeatable); "
                             "default: the shipped K3DN-Tiny")
    parser.add_argument("--reference", default=None, metavar="NAME",
                        help="row the other models are compared with pair by pair (mean PSNR difference, 95%% "
                             "bootstrap interval, pairs won); default: the first --model. Every model is also "
                             "compared with Input")
    parser.add_argument("--pair", action="append", default=[], metavar="A:B",
                        help="also compare row A with row B pair by pair (repeatable), e.g. one treatment against "
                             "its own control per training seed")
    parser.add_argument("--ablate", action="append", default=[], choices=["query", "kernels", "srp"],
                        help="also score each model with a part switched off at inference (repeatable): 'query' "
                             "a = 1/N, 'kernels' identity inverse kernels, 'srp' SRP bypassed "
                             "(k3dn/network/ablate.py); each ablated row is compared pair by pair with its unablated "
                             "model")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--json", default=None, help="also write the results as JSON here")


DPDNET_ROW = "DPDNet (published outputs)"


def load_items(data: str, split: str, n: int, size: int, render: str = "linear",
               real_dp_root: str | None = None, mild: bool = False, max_radius: float | None = None) -> list[dict]:
    from ..data import DPDDDataset, SynthFolder, make_eval_set
    from ..data.generate import DEFAULT_MAX_RADIUS

    if mild and data != "synthetic":
        raise UserError("--slice mild applies to --data synthetic only")
    if max_radius is not None and data != "synthetic":
        raise UserError(f"--max-radius applies to --data synthetic only, got --data {data}")
    if max_radius is not None:
        check_max_radius(max_radius)
    if data == "real-dp":
        from ..evaluation.realdp import load_real_dp

        try:
            return load_real_dp(real_dp_root)
        except (FileNotFoundError, ValueError) as exc:
            raise UserError(f"--data real-dp: {exc}") from exc
    if data == "synthetic":
        if n <= 0 or size < 32:
            raise UserError(f"--n must be positive and --size >= 32, got {n}, {size}")
        check_count(n)
        check_size((size, size))
        return make_eval_set(n=n, size=(size, size), linear=render == "linear", mild=mild,
                             max_radius=DEFAULT_MAX_RADIUS if max_radius is None else max_radius)
    root = Path(data)
    if not root.is_dir():
        raise UserError(f"--data {data}: not 'synthetic' and not a directory")
    try:
        if any(root.glob("*_left.png")):
            return list(SynthFolder(root, as_numpy=True))
        return list(DPDDDataset(root, split=split, as_numpy=True))
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(f"--data {data}: {exc}") from exc


def parse_models(specs: list[str]) -> list[tuple[str, str | None]]:
    if not specs:
        return [("K3DN-Tiny (shipped)", None)]
    out = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--model {spec!r}: expected NAME=WEIGHTS.safetensors")
        out.append((name, path))
    return out


def paired_report(psnr: dict[str, list[float]], reference: str, parents: dict[str, str] | None = None,
                  pairs: list[tuple[str, str]] | None = None) -> dict:
    """PSNR differences, pair by pair, from each row's per-pair PSNRs: every model against Input, every
    other model against `reference` (when it is a model), each ablated row against the model it
    ablates (`parents`: row -> model row), and each (A, B) of `pairs`. Keys read 'A − B', values are
    `k3dn.evaluation.paired.PairedDifference`."""
    from ..evaluation.paired import paired_difference

    parents = parents or {}
    out = {}
    for name in psnr:
        if name == "Input":
            continue
        for base in dict.fromkeys(("Input", reference, parents.get(name, reference))):
            if base != name:
                out[f"{name} − {base}"] = paired_difference(psnr[name], psnr[base])
    for a, b in pairs or []:
        out[f"{a} − {b}"] = paired_difference(psnr[a], psnr[b])
    return out


def parse_pairs(specs: list[str], rows: list[str]) -> list[tuple[str, str]]:
    """--pair A:B values as (A, B), both rows of the table and distinct; else UserError."""
    pairs = []
    for spec in specs:
        a, sep, b = spec.partition(":")
        if not sep or a not in rows or b not in rows or a == b:
            raise UserError(f"--pair {spec!r}: expected A:B, two different rows of the table ({rows})")
        pairs.append((a, b))
    return pairs


def _load_for_eval(path: str | None, device: str):
    """The model in `path`, or for a file trained with `k3dn train --ablate` a runner that applies the same
    ablation (the function it was trained as)."""
    import torch

    from ..network.ablate import AblatedRunner
    from ..network.weights_io import load_model, read_metadata, trained_ablation

    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda requested but no CUDA device is available")
    parts = trained_ablation(read_metadata(path)) if path else []  # the header only: the tensors load once, below
    model = load_model(path, allow_ablated=True).to(device)
    return AblatedRunner(model, parts) if parts else model


def run(args: argparse.Namespace) -> int:
    from ..evaluation.scoring import format_table, mean_metrics, score_pairs
    from ..evaluation.selection import format_bins, score_with_radius, selection_report
    from ..network.ablate import ABLATIONS, AblatedRunner

    if args.json:  # before the evaluation, not after it
        output_file(args.json, "--json")
    models = parse_models(args.model)
    names = [name for name, _ in models]
    if len(set(names)) != len(names) or "Input" in names or DPDNET_ROW in names:
        raise UserError(f"--model names must be distinct and not 'Input' or {DPDNET_ROW!r}, got {names}")
    reference = args.reference if args.reference is not None else names[0]
    rows = ["Input"] + ([DPDNET_ROW] if args.data == "real-dp" else []) + names
    if reference not in rows:
        raise UserError(f"--reference {reference!r} is not a row of the table; choose one of {rows}")
    pairs = parse_pairs(args.pair, rows)
    loaded = [(name, _load_for_eval(path, args.device)) for name, path in models]
    items = load_items(args.data, args.split, args.n, args.size, args.render, args.real_dp_root,
                       mild=args.slice == "mild", max_radius=args.max_radius)
    if args.readout == "green":
        from ..data.readout import green_only

        items = [green_only(item) for item in items]
    per_pair = {"Input": score_pairs(None, items, desc="Input")}
    if items and "dpdnet" in items[0]:
        per_pair[DPDNET_ROW] = score_pairs(None, items, desc="DPDNet", key="dpdnet")
    parents: dict[str, str] = {}
    for name, model in loaded:
        if getattr(getattr(model, "config", None), "select_mode", "learned") == "oracle":
            if not items or "radius" not in items[0]:
                raise UserError(f"--model {name}: its blur-size selection reads the true radius (a design study); "
                                "score it on simulated pairs only")
            per_pair[name] = score_with_radius(model, items, args.device)
            continue
        per_pair[name] = score_pairs(model, items, device=args.device, desc=name)
        for part in dict.fromkeys(args.ablate):
            row = f"{name}, {ABLATIONS[part]}"
            try:
                # a model trained with an ablation keeps it: the extra part is switched off on top
                base, trained = (model.model, model.parts) if isinstance(model, AblatedRunner) else (model, ())
                runner = AblatedRunner(base, [*trained, part])
                per_pair[row] = score_pairs(runner, items, device=args.device, desc=row)
            except ValueError as exc:
                raise UserError(f"--ablate {part} on {name}: {exc}") from exc
            parents[row] = name
    results = {name: mean_metrics(rows) for name, rows in per_pair.items()}
    psnr = {name: [r["psnr"] for r in rows] for name, rows in per_pair.items()}
    paired = paired_report(psnr, reference, parents, pairs)
    blur_space = "linear light" if args.render == "linear" else "sRGB values"
    mild = "; mild slice: blur radius <= 1.5 px, half the scenes soft themselves" if args.slice == "mild" else ""
    source = f"{args.data} (blur applied in {blur_space}{mild})" if args.data == "synthetic" else args.data
    if args.data == "real-dp":
        source = (f"real-dp, {items[0]['score_top']} label rows left out; a VALIDATION set: never train, calibrate "
                  "or choose a checkpoint on it alone")
    print(f"\n{len(items)} pairs from {source}\n")
    print(format_table(results))
    bins = format_bins(results)
    if bins:
        print("\nPSNR (dB) by true blur radius |c| (pixels of each bin, mean over the pairs that have any):\n")
        print(bins)
    selection = {name: selection_report(getattr(model, "model", model), items, args.device) for name, model in loaded}
    selection = {name: rep for name, rep in selection.items() if rep}
    for name, rep in selection.items():
        print(f"\n{name}: blur-size selection entropy {rep['entropy']:.3f} of uniform, argmax agrees with the true "
              f"radius on {rep['argmax_agreement']:.1%} of 1/4-res pixels (chance {rep['chance']:.1%}), mean weight "
              f"on the true hypothesis {rep['weight_on_true']:.3f} ({rep['pairs']} pairs)")
    print(f"\nPSNR differences, pair by pair (mean, 95% bootstrap interval over {len(items)} pairs; it does not "
          "cover run-to-run spread of training):")
    width = max(len(k) for k in paired)
    for key, diff in paired.items():
        print(f"  {key:<{width}}  {diff.describe()}")
    if args.json:
        report = {"data": source, "n": len(items), "results": results, "selection": selection,
                  "paired_psnr": {k: d.as_dict() for k, d in paired.items()},
                  "per_pair_psnr": psnr}
        files.write_text(args.json, json.dumps(report, indent=2), last=True)
    return 0
