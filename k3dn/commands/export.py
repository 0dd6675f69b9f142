"""`k3dn export`: lower K3DN and export it to ExecuTorch (XNNPACK, Vulkan, CoreML delegate), TFLite/LiteRT, CoreML
and/or ONNX.

Each artifact is audited (no FFT/complex/inverse ops; every op delegated or builtin) and run in its
real runtime against the float PyTorch model before it is kept; a parity table closes the run.
Exit status: 0 when every backend passed or was skipped for a missing toolchain, 1 when any failed,
2 for a usage error. The `export` package is imported here, inside run(): k3dn never imports it at
import time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import files
from ..backends import EXPORT_BACKENDS
from ..errors import UserError
from ..network.config import VARIANTS
from .limits import check_size, output_dir

BACKEND_CHOICES = (*EXPORT_BACKENDS, "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKEND_CHOICES, action="append", required=True,
                        help="target (repeatable); 'all' = every one: executorch (XNNPACK), tflite, coreml, onnx, "
                             "executorch-vulkan (fp32 and fp16), executorch-coreml")
    parser.add_argument("--size", required=True, help="static input size HxW of the artifact, multiples of 16 "
                                                      "(e.g. 128x128); frames are padded to it in the pipeline")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="tiny", help="model variant (default tiny)")
    parser.add_argument("--weights", help="safetensors state dict (default: the shipped weights of the variant, "
                                          "else a seeded random model, recorded as 'random-seed-0')")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")


def load_checked_model(variant: str, weights: str | None, size: tuple[int, int]):
    """(model, weights description) for --variant/--weights, checked against the artifact size; UserError if not."""
    from k3dn.export.pipeline import check_size
    from k3dn.export.weights import model_and_source

    try:
        model, weights_info = model_and_source(variant, weights)
        check_size(model.config, size)
    except (ValueError, FileNotFoundError, OSError) as exc:
        raise UserError(str(exc)) from exc
    return model, weights_info


def run(args: argparse.Namespace) -> int:
    try:
        from k3dn.export.common import BACKENDS, parse_size
        from k3dn.export.parity import format_table
        from k3dn.export.pipeline import export_backends
    except ImportError as exc:
        raise UserError(f"the export package is not importable ({exc}); install with pip install -e '.[export]'") \
            from exc

    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    check_size(size)
    names = list(BACKENDS) if "all" in args.backend else list(dict.fromkeys(args.backend))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    model, weights_info = load_checked_model(args.variant, args.weights, size)
    out = output_dir(out)  # created only once the flags and weights passed
    print(f"k3dn export: {model.config.name} at {size[0]}x{size[1]}, weights {weights_info['source']}, -> {out}")
    outcomes = export_backends(names, model, size, out, weights_info)

    table = format_table([o.row() for o in outcomes])
    print("\nParity against the float PyTorch model\n" + table)
    report = out / f"parity_{model.config.name}_{size[0]}x{size[1]}.txt"
    files.write_text(report, table + "\n")
    if all(o.status == "skipped" for o in outcomes):
        raise UserError("no backend could run here: " + "; ".join(f"{o.backend}: {o.reason}" for o in outcomes))
    failed = [o.backend for o in outcomes if o.status == "failed"]
    for o in outcomes:
        if o.detail:
            print(f"\n{o.backend}: {o.reason}\n{o.detail}", file=sys.stderr)
    if failed:
        print(f"\nk3dn export: FAILED for {', '.join(failed)}; no artifact was kept for them")
        return 1
    return 0
