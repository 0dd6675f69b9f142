"""`k3dn train`: train K3DN (or the U-Net baseline) on synthesized DP data or DPDD, resumable.

Under torchrun (`torchrun --nproc_per_node W -m k3dn train ...`) it trains data parallel: --batch B
per process, a global batch of B x W (k3dn/training/trainer.py). With `--dpdd ROOT` it trains on random crops of
the Canon DPDD training pairs and validates on fixed crops of DPDD's val split when ROOT has one (else,
and when training on the val split itself, on the synthetic eval set).
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import fields
from pathlib import Path

from ..errors import UserError
from ..training.distributed import DistInfo, bf16_is_emulated, resolve_device
from ..training.trainer import BLUR_SPACES, TrainConfig
from .limits import check_max_radius


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument("--out", default=d.out, help="run directory (config, metrics, checkpoints)")
    parser.add_argument("--variant", default=d.variant, help="tiny | lightweight | large")
    parser.add_argument("--arch", default=d.arch, choices=["k3dn", "unet"], help="k3dn, or the U-Net baseline")
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--batch", type=int, default=d.batch,
                        help="items per process and step; under torchrun the global batch is B x processes")
    parser.add_argument("--patch", type=int, default=d.patch, help="square training patch size (multiple of 16)")
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--reblur-weight", type=float, default=d.reblur_weight,
                        help="lambda_1 of Eq. 18; 0 trains the no-reblur ablation")
    parser.add_argument("--reblur-every", type=int, default=d.reblur_every,
                        help="run the reblur branch every this many steps (the others cost one pass instead of two)")
    parser.add_argument("--precision", default=d.precision, choices=["fp32", "bf16"],
                        help="bf16: autocast the network (AVX-512 BF16 / AMX CPUs, GPUs); FFTs and the loss stay fp32")
    parser.add_argument("--channels-last", action="store_true", default=d.channels_last,
                        help="NHWC memory format for the model and batches (faster oneDNN convs on CPU)")
    parser.add_argument("--mild-prob", type=float, default=d.mild_prob,
                        help="fraction of training pairs that are in focus or mildly blurred (radius <= 1.5 px)")
    parser.add_argument("--soft-mild", action="store_true", default=d.soft_mild,
                        help="soften the scene of each mild pair (Gaussian sigma <= 1.5 px): in-focus soft content "
                             "with no DP disparity, whose target is itself soft")
    parser.add_argument("--calibrated-prob", type=float, default=d.calibrated_prob,
                        help="fraction of training pairs rendered with the kernel families fitted to real views "
                             "(k3dn calibrate-psf; default 0: today's data stream, item for item)")
    parser.add_argument("--calibrated-families", default=",".join(d.calibrated_families),
                        help="which fitted families those pairs use: calibrated_dslr, calibrated_phone (default both)")
    parser.add_argument("--degrade-prob", type=float, default=d.degrade_prob,
                        help="fraction of training pairs whose views are 8-bit rounded, GIF-palette quantized or "
                             "JPEG compressed (one of the three, uniformly; default 0)")
    parser.add_argument("--green-prob", type=float, default=d.green_prob,
                        help="fraction of training pairs in the green-only form of phone DP readouts: the green "
                             "channel of both views and of the target replicated to three channels, as public phone "
                             "DP captures are stored (default 0)")
    parser.add_argument("--max-radius", type=float, default=d.max_radius,
                        help="largest blur radius |c| in px of the simulated pairs (default %(default)s; DPDD's Canon "
                             "frames reach ~16 px at full resolution)")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--blur-space", default=d.blur_space, choices=list(BLUR_SPACES),
                        help="blur the training pairs in linear light, on sRGB values, or a mix of both (default)")
    parser.add_argument("--workers", type=int, default=d.workers, help="DataLoader worker processes")
    parser.add_argument("--device", default=d.device, choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice; 1 on a machine shared with other jobs)")
    parser.add_argument("--val-every", type=int, default=d.val_every, help="validate every this many steps (0: never)")
    parser.add_argument("--diag-every", type=int, default=d.diag_every,
                        help="write training diagnostics to OUT/diagnostics.jsonl every this many steps (0: never)")
    parser.add_argument("--report", default=None, metavar="RUN|WEIGHTS",
                        help="print diagnostics instead of training: of a run directory (its diagnostics.jsonl), "
                             "or measured now on a weights file (one step's gradients on a fixed simulated batch)")
    parser.add_argument("--data", default=None, help="optional folder of all-in-focus images to mix in")
    parser.add_argument("--dpdd", default=None, metavar="ROOT",
                        help="train on the Canon DPDD pairs (dd_dp_dataset_png or its parent) instead of simulated "
                             "ones (--data, --blur-space, --mild-prob, --soft-mild do not apply): random --patch "
                             "crops; validates on DPDD val crops if ROOT has a val split, else on the synthetic set")
    parser.add_argument("--dpdd-split", default="train", choices=["train", "val"],
                        help="the DPDD split to train on (never test: it is the benchmark)")
    parser.add_argument("--dpdd-flip", action=argparse.BooleanOptionalAction, default=True,
                        help="mirror half of the DPDD crops, swapping the left and right views (keeps the DP sign)")
    parser.add_argument("--disp-loss-weight", type=float, default=d.disp_loss_weight,
                        help="weight of an auxiliary L1 loss tying a linear readout of the disparity features R to "
                             "the simulator's signed blur map (not in the paper; simulated data only; default 0)")
    parser.add_argument("--select-loss-weight", type=float, default=d.select_loss_weight,
                        help="weight of the blur-size selection's auxiliary loss on the simulator's blur radius "
                             "(0: off; needs a model with --set select_radii=...)")
    parser.add_argument("--select-lr-mult", type=float, default=d.select_lr_mult,
                        help="learning-rate factor of the parameters a blur-size selection block adds (they start at 0 "
                             "in a trained network)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="model config override, e.g. --set num_kernels=64 --set feat_channels=64")
    parser.add_argument("--ablate", action="append", default=[], choices=["query", "kernels", "srp"],
                        help="train with this K3DN part switched off (repeatable; k3dn/network/ablate.py): "
                             "'query' a = 1/N, 'kernels' identity inverse kernels, 'srp' SRP bypassed. For ablation "
                             "studies: the weights record it, and only k3dn eval runs them (with the same part off)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--init", default=None, metavar="WEIGHTS",
                        help="start from these safetensors weights (e.g. k3dn/weights/k3dn_tiny.safetensors) "
                             "with a fresh optimizer and LR schedule")


def parse_overrides(items: list[str]) -> dict:
    from ..network.config import K3DNConfig

    names = {f.name for f in fields(K3DNConfig)}
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in names:
            raise UserError(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {sorted(names)}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def report(path: str, seed: int) -> int:
    """`k3dn train --report`: diagnostics of a run directory or of a weights file."""
    import json

    from ..training.diagnostics import diagnose_weights, format_report
    from ..training.trainer import fixed_batch

    p = Path(path)
    if p.is_dir():
        log = p / "diagnostics.jsonl"
        if not log.is_file():
            raise UserError(f"--report {path}: no diagnostics.jsonl in this run directory")
        records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        if not records:
            raise UserError(f"--report {path}: diagnostics.jsonl is empty")
        for rec in dict.fromkeys((id(records[0]), id(records[-1]))):
            r = next(x for x in records if id(x) == rec)
            print(format_report(r, f"\n## step {r['step']}"))
        return 0
    if not p.is_file():
        raise UserError(f"--report {path}: neither a run directory nor a weights file")
    from ..network.weights_io import load_model

    model = load_model(p)  # a WeightsError is a UserError: one line, exit 2
    rec = diagnose_weights(model, fixed_batch(seed))
    print(format_report(rec, f"## {p}: one training step's gradients on a fixed batch (4 x 128^2, seed {seed}); "
                             f"movement from the seed-{seed} init"))
    return 0


def refuse_real_dp(flag: str, path: str | None) -> None:
    """UserError if `path` is the real-dp validation set, which no training may read (k3dn/evaluation/realdp.py)."""
    from ..evaluation.realdp import is_real_dp

    if path is not None and is_real_dp(path):
        raise UserError(f"{flag} {path} is the real-dp validation set: it must never be trained on")


def dpdd_val_items(root: str, cfg: TrainConfig) -> list[dict] | None:
    """Fixed validation crops of DPDD's val split (cfg.val_n images spread over the split, one
    cfg.val_size crop each, drawn from the eval seed, no mirror), or None if `root` has no val split."""
    import numpy as np

    from ..data import DPDDDataset
    from ..data.datasets import EVAL_SEED

    try:
        val = DPDDDataset(root, "val", patch=cfg.val_size, seed=EVAL_SEED, as_numpy=True, flip=False)
    except FileNotFoundError:
        return None
    picks = np.unique(np.linspace(0, len(val) - 1, min(cfg.val_n, len(val))).round().astype(int))
    try:
        return [val[int(i)] for i in picks]
    except ValueError as exc:
        raise ValueError(f"val split ({cfg.val_size} px validation crops): {exc}") from exc


def training_data(args: argparse.Namespace, cfg: TrainConfig, world_size: int, validate: bool):
    """(training set, validation items, what config.json records about them). The validation items are
    built only if `validate` (rank 0, --val-every > 0); a simulated run records nothing extra."""
    from ..data import make_eval_set
    from ..training.trainer import build_dataset, items_needed

    def synthetic() -> list[dict]:
        return make_eval_set(n=cfg.val_n, size=(cfg.val_size, cfg.val_size)) if validate else []

    if args.dpdd is None:
        return build_dataset(cfg, args.data, world_size), synthetic(), {}
    from ..data import DPDDDataset

    try:
        data = DPDDDataset(args.dpdd, args.dpdd_split, patch=cfg.patch, seed=cfg.seed,
                           length=items_needed(cfg, world_size), flip=args.dpdd_flip)
        data[0]  # read one item now: unreadable PNGs, mismatched sizes or a too large --patch fail here
        val = dpdd_val_items(args.dpdd, cfg) if validate and args.dpdd_split != "val" else None
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(f"--dpdd {args.dpdd}: {exc}") from exc
    if not validate:
        note = "none"
    elif val is not None:
        note = f"DPDD val split: {len(val)} crops of {cfg.val_size} px"
    else:
        val = synthetic()
        note = f"synthetic eval set: {len(val)} pairs of {cfg.val_size} px"
    return data, val or [], {"data": data.describe(), "val": note}


def check_same_data(out: str, info: dict) -> None:
    """--resume: UserError unless the run's config.json names the same training data as now (a DPDD run
    resumes with the same --dpdd split, patch, flip and seed; the folder may have moved)."""
    import json

    def data(d: dict | None) -> dict | None:
        return None if d is None else {k: v for k, v in d.items() if k != "dpdd"}

    config = Path(out) / "config.json"
    before = json.loads(config.read_text()).get("data") if config.is_file() else None
    if data(before) != data(info.get("data")):
        raise UserError(f"--resume: {out} trained on {before or 'simulated pairs'}, not on "
                        f"{info.get('data') or 'simulated pairs'}; pass the same data options")


def run(args: argparse.Namespace) -> int:
    from ..training.distributed import close_distributed, init_distributed

    if args.threads is not None:
        if args.threads <= 0:
            raise UserError(f"--threads must be positive, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    if args.report:
        return report(args.report, args.seed)
    if args.diag_every < 0:
        raise UserError(f"--diag-every must be >= 0, got {args.diag_every}")
    if args.steps <= 0 or args.batch <= 0:
        raise UserError("--steps and --batch must be positive")
    if args.val_every < 0:
        raise UserError(f"--val-every must be >= 0, got {args.val_every}")
    refuse_real_dp("--data", args.data)
    refuse_real_dp("--dpdd", args.dpdd)
    if args.dpdd is not None and (args.data is not None or args.mild_prob or args.soft_mild or args.calibrated_prob
                                  or args.degrade_prob or args.green_prob):
        raise UserError("--data, --mild-prob, --soft-mild, --calibrated-prob, --degrade-prob and --green-prob shape "
                        "simulated pairs; --dpdd trains on real ones")
    for flag, value in (("--calibrated-prob", args.calibrated_prob), ("--degrade-prob", args.degrade_prob),
                        ("--green-prob", args.green_prob)):
        if not 0.0 <= value <= 1.0:
            raise UserError(f"{flag} must be in [0, 1], got {value}")
    from ..data.dp_family import CALIBRATED_FAMILIES

    families = [f.strip() for f in args.calibrated_families.split(",") if f.strip()]
    if not families or set(families) - set(CALIBRATED_FAMILIES):
        raise UserError(f"--calibrated-families {args.calibrated_families!r}: choose from "
                        f"{', '.join(CALIBRATED_FAMILIES)}")
    check_max_radius(args.max_radius)
    if args.disp_loss_weight < 0:
        raise UserError(f"--disp-loss-weight must be >= 0, got {args.disp_loss_weight}")
    if args.disp_loss_weight > 0 and args.dpdd is not None:
        raise UserError("--disp-loss-weight needs the simulator's blur map; DPDD pairs have none")
    if args.patch % 16 or args.patch < 32:
        raise UserError(f"--patch must be a multiple of 16 and >= 32, got {args.patch}")
    cfg = TrainConfig(out=args.out, variant=args.variant, arch=args.arch, overrides=parse_overrides(args.set),
                      steps=args.steps, batch=args.batch, patch=args.patch, lr=args.lr,
                      reblur_weight=args.reblur_weight, seed=args.seed, blur_space=args.blur_space,
                      workers=args.workers, device=args.device, val_every=args.val_every,
                      diag_every=args.diag_every, reblur_every=args.reblur_every, precision=args.precision,
                      channels_last=args.channels_last, mild_prob=args.mild_prob,
                      soft_mild=args.soft_mild, calibrated_prob=args.calibrated_prob,
                      calibrated_families=families, degrade_prob=args.degrade_prob, max_radius=args.max_radius,
                      green_prob=args.green_prob,
                      ablate=list(dict.fromkeys(args.ablate)),
                      select_loss_weight=args.select_loss_weight, select_lr_mult=args.select_lr_mult,
                      disp_loss_weight=args.disp_loss_weight)
    if cfg.ablate and cfg.arch != "k3dn":
        raise UserError(f"--ablate {', '.join(cfg.ablate)} switches off K3DN parts; the U-Net has none")
    ckpt = Path(args.out) / "last.pt"
    if args.resume and not ckpt.is_file():
        raise UserError(f"--resume: no checkpoint at {ckpt}")
    if not args.resume and ckpt.exists():
        raise UserError(f"{ckpt} exists; pass --resume to continue that run or choose another --out")
    if args.init and args.resume:
        raise UserError("--init and --resume exclude each other")
    try:
        dist = init_distributed(cfg.device)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    try:
        return train(args, cfg, dist, ckpt)
    finally:
        close_distributed()


def train(args: argparse.Namespace, cfg: TrainConfig, dist: DistInfo, ckpt: Path) -> int:
    """Build the trainer on this rank (every rank loads --init / --resume), then fit."""
    from ..training.trainer import Trainer

    say = print if dist.is_main else (lambda *_: None)
    if cfg.precision == "bf16" and bf16_is_emulated(resolve_device(cfg.device)) and dist.is_main:
        print("k3dn train: warning: this CPU has no native bf16 (neither avx512_bf16 nor amx_bf16 in its flags), so "
              "--precision bf16 is emulated and about 10x slower than --precision fp32", file=sys.stderr)
    try:
        data, val, info = training_data(args, cfg, dist.world_size, dist.is_main and cfg.val_every > 0)
        if args.resume:
            check_same_data(args.out, info)
        trainer = Trainer(cfg, data, val, dist=dist, run_info=info)
        if args.resume:
            trainer.resume(ckpt)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if args.init:
        from ..network.weights_io import WeightsError

        try:
            trainer.init_from(args.init)
        except WeightsError as exc:
            raise UserError(str(exc)) from exc
        say(f"initialized from {args.init}")
    if args.resume:
        say(f"resumed {args.out} at step {trainer.step}")
    where = f"{dist.world_size} processes ({trainer.device.type}), global batch {cfg.batch * dist.world_size}" \
        if dist.world_size > 1 else str(trainer.device)
    say(f"training {cfg.arch}/{cfg.variant} on {where} for {cfg.steps} steps -> {args.out}")
    trainer.fit()
    return 0
