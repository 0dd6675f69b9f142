"""`k3dn fp16-check`: the lowered model in PyTorch float16 on the evaluation set, against float32.

Stands for every fp16 target (CoreML fp16, the ExecuTorch CoreML delegate, ExecuTorch Vulkan fp16), whose runtimes
do not run on Linux: output PSNR against fp32 (budget >= 45 dB) and the largest activation of every layer against
the float16 range (65504). Exit 0 when it passes, 1 on an overflow or a PSNR below the budget, 2 for a usage error.
"""

from __future__ import annotations

import argparse

from .. import files
from ..errors import UserError
from ..network.config import VARIANTS
from .limits import check_count, check_size, output_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=8, help="evaluation pairs (default 8; k3dn.data.make_eval_set)")
    parser.add_argument("--size", default="128x128", help="pair size HxW, multiples of 16 (default 128x128; CPU "
                                                          "float16 is slow: ~4 s per 128x128 pair on 2 cores)")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="tiny", help="model variant (default tiny)")
    parser.add_argument("--weights", help="safetensors weights (default: the shipped weights of the variant)")
    parser.add_argument("--top", type=int, default=12, help="layers listed, largest activation first (default 12)")
    parser.add_argument("--json", help="also write the full report (every layer) as JSON here")


def run(args: argparse.Namespace) -> int:
    from k3dn.calibration.fp16 import format_report, fp16_report
    from k3dn.data import make_eval_set
    from k3dn.export.common import parse_size

    from .export import load_checked_model

    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    check_size(size)
    check_count(args.n)
    out = output_file(args.json, "--json") if args.json else None
    model, info = load_checked_model(args.variant, args.weights, size)
    print(f"k3dn fp16-check: {model.config.name}, weights {info['source']}, {args.n} eval pairs {size[0]}x{size[1]}")
    report = fp16_report(model, make_eval_set(n=args.n, size=size), progress=print)
    print(format_report(report, top=max(args.top, 1)))
    if out is not None:
        files.write_json(out, {"weights": info, **report.to_dict()})
    return 0 if report.passed else 1
