"""`k3dn` console entry point. Each subcommand lives in its own module exposing
`add_arguments(parser)` and `run(args) -> int`; this file only wires them together.

A `k3dn.errors.UserError` raised by a subcommand (WeightsError is one) is printed as
`k3dn <cmd>: error: <message>` with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from k3dn.errors import UserError  # absolute: `python -m k3dn.cli` runs this file as __main__

# name -> (module, one-line help). Modules are imported lazily so `k3dn info` stays fast.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("k3dn.commands.info", "parameters and MACs of each variant beside the paper's"),
    "synth": ("k3dn.commands.synth", "write simulated dual-pixel samples (16-bit PNG) and a preview montage"),
    "train": ("k3dn.commands.train", "train K3DN or the U-Net on simulated DP data or DPDD (resumable, torchrun)"),
    "deblur": ("k3dn.commands.deblur", "deblur a DP pair (8/16-bit PNG or TIFF, any size)"),
    "eval": ("k3dn.commands.evaluate", "PSNR/SSIM/RMSE_rel/MAE table (paper Table 1 shape) on an eval set"),
    "demo": ("k3dn.commands.demo", "deblur a simulated DP capture of a held-out photo with the shipped weights"),
    "export": ("k3dn.commands.export", "lower and export to ExecuTorch, TFLite, CoreML, ONNX with parity checks"),
    "quantize": ("k3dn.commands.quantize", "int8 quantization per backend, calibrated, with a measured quality budget"),
    "fp16-check": ("k3dn.commands.fp16_check", "the exported graph in float16 on the eval set: PSNR vs fp32, largest "
                   "activation per layer vs the fp16 range"),
    "bench": ("k3dn.commands.bench", "latency, memory, throughput per backend, precision and size, vs this CPU's peak"),
    "calibrate-psf": ("k3dn.commands.calibrate_psf", "fit the DP kernel family to real left/right views (no ground "
                      "truth) and write its parameters"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="k3dn", description="K3DN dual-pixel defocus deblurring toolkit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. A bad input or a refused operation is one `k3dn CMD: error: ...` line and exit 2."""
    from . import files

    # Library deprecation chatter (FutureWarning/UserWarning from converters) would bury the one error line.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", module="torchvision")
    parser = build_parser()
    args = parser.parse_args(argv)
    files.start_command()
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except (UserError, files.OverwriteError) as exc:
        print(f"k3dn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file system refusal no check could foresee (a full disk, a permission)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"k3dn {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"k3dn {args.command}: error: out of memory; use smaller inputs, sizes or tiles", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        done = files.committed()
        note = f"; {len(done)} file(s) were complete before it: {', '.join(map(str, done[:3]))}" if done else \
            "; no output was replaced"
        print(f"k3dn {args.command}: interrupted{note}", file=sys.stderr)
        return 130
    finally:
        files.end_command()


if __name__ == "__main__":
    sys.exit(main())
