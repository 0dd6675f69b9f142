"""`k3dn info`: parameters and MACs per variant, beside the paper's Table 1 figures."""

from __future__ import annotations

import argparse

from ..network.complexity import PAPER_SIZE, count_macs, count_params
from ..network.config import PAPER_FIGURES, VARIANTS
from ..network.model import create


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", choices=sorted(VARIANTS), action="append",
                        help="limit to these variants (default: all)")


def run(args: argparse.Namespace) -> int:
    names = args.variant or list(VARIANTS)
    h, w = PAPER_SIZE
    print(f"K3DN variants: parameters, and MACs of one {h}x{w} inference")
    print("(MACs = torch.utils.flop_counter FLOPs / 2, conv and matmul only, the paper's 'Flops' convention)\n")
    header = f"{'variant':<12} {'params (M)':>10} {'paper':>7} {'diff':>7}   {'GMACs':>8} {'paper':>7} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for name in names:
        model = create(name)
        params = count_params(model) / 1e6
        gmacs = count_macs(model) / 1e9
        paper = PAPER_FIGURES[name]
        diff = 100 * (params / paper["params_m"] - 1)
        print(f"{name:<12} {params:>10.2f} {paper['params_m']:>7.2f} {diff:>+6.1f}%   "
              f"{gmacs:>8.0f} {paper['gmacs']:>7.0f} {gmacs / paper['gmacs']:>6.2f}")
    cfg = VARIANTS[names[0]]
    print(f"\ninput: N x 3 x H x W float32 in [0, 1], H, W >= {cfg.min_size}, padded to multiples of {cfg.stride}")
    return 0
