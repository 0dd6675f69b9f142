"""`k3dn calibrate-psf`: fit the DP kernel family to real left/right views, with no ground truth.

Reads DP pairs (a NAME_left.png file with its NAME_right.png, or folders of them; --prefix picks
one camera's pairs in a mixed folder), fits the kernel shape shared by the camera and every block's
blur radius from the cross-convolution constraint (k3dn.data.psf_fit), and writes the parameter
document (JSON) atomically. Only the two views are read: ground-truth frames beside them are never
opened. `--figure` also writes the fitted kernels beside the simulator's two families at the same
disparity (PNG). The document is what `--psf-params` / k3dn/data/psf_params/ feed to the simulator.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="NAME_left.png files (NAME_right.png beside each) or folders")
    parser.add_argument("--camera-kind", required=True, choices=["dslr", "phone"],
                        help="which calibrated family the parameters are for")
    parser.add_argument("--out", required=True, help="parameter file to write (.json)")
    parser.add_argument("--prefix", default="", help="only pairs whose name starts with this (e.g. canon_)")
    parser.add_argument("--block", type=int, default=96, help="block size in px (default 96)")
    parser.add_argument("--max-radius", type=float, default=12.0, help="largest blur radius searched, px")
    parser.add_argument("--field-zones", type=int, default=1,
                        help="vertical strips for the field-dependent ramp/asymmetry trend (1: none; phones: 3)")
    parser.add_argument("--min-gain", type=float, default=0.2,
                        help="a block joins the shape fit if DP kernels explain this share of its residual "
                             "(default 0.2; phones, whose views differ little: 0.1)")
    parser.add_argument("--figure", default=None, help="also write the fitted-vs-simulator kernel figure (PNG)")


def _collect(inputs: list[str], prefix: str) -> list[tuple[Path, Path]]:
    from ..data.psf_calib import find_pairs

    pairs: list[tuple[Path, Path]] = []
    for text in inputs:
        p = Path(text)
        if p.is_dir():
            pairs += [(a, b) for a, b in find_pairs(p) if a.name.startswith(prefix)]
        elif p.is_file():
            stem, sep, ext = p.name.rpartition("_left")
            right = p.with_name(f"{stem}_right{ext}")
            if not sep or not right.is_file():
                raise UserError(f"{p}: expected NAME_left.EXT with NAME_right.EXT beside it")
            pairs.append((p, right))
        else:
            raise UserError(f"{p}: no such file or folder")
    if not pairs:
        raise UserError(f"no NAME_left/NAME_right pairs{f' starting with {prefix!r}' if prefix else ''} "
                        f"in {', '.join(inputs)}")
    return pairs


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".json":
        raise UserError(f"--out {out}: the parameter file must end in .json")
    for path in [out] + ([Path(args.figure)] if args.figure else []):
        if not path.parent.is_dir():
            raise UserError(f"{path}: folder {path.parent} does not exist")
    if args.figure and Path(args.figure).suffix.lower() != ".png":
        raise UserError(f"--figure {args.figure}: must end in .png")
    if not 32 <= args.block <= 512:
        raise UserError(f"--block must be in [32, 512], got {args.block}")
    if not 1 <= args.max_radius <= 24:
        raise UserError(f"--max-radius must be in [1, 24], got {args.max_radius}")
    if not 1 <= args.field_zones <= 8:
        raise UserError(f"--field-zones must be in [1, 8], got {args.field_zones}")
    if not 0.0 < args.min_gain < 1.0:
        raise UserError(f"--min-gain must be in (0, 1), got {args.min_gain}")
    pairs = _collect(args.inputs, args.prefix)

    from ..data.psf_calib import calibrate, load_pair
    from ..io import atomic_write_bytes

    views = []
    for left, right in pairs:
        try:
            views.append(load_pair(left, right))
        except (OSError, ValueError) as exc:
            raise UserError(f"{left}: {exc}") from None
        if min(views[-1][0].shape[:2]) < args.block:
            raise UserError(f"{left}: {views[-1][0].shape[1]}x{views[-1][0].shape[0]} is smaller than one "
                            f"{args.block}-px block")
    names = [left.name[: -len("_left" + left.suffix)] for left, _ in pairs]
    try:
        doc = calibrate(views, args.camera_kind, args.block, args.max_radius, args.field_zones, names,
                        args.min_gain)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    files = {out: (json.dumps(doc, indent=1) + "\n").encode()}
    if args.figure:
        from ..data.sim2real import kernel_figure
        from ..io import encode_image

        files[Path(args.figure)] = encode_image(kernel_figure({args.camera_kind: doc}), 8)
    from ..io import atomic_write_many

    atomic_write_many(files) if len(files) > 1 else atomic_write_bytes(out, files[out])
    fit = doc["fit"]
    print(f"{len(pairs)} pairs, {fit['informative_blocks']}/{fit['blocks']} defocused blocks: shape "
          + ", ".join(f"{k} {v:.3f}" for k, v in doc["shape"].items())
          + f"; median |c| {fit['median_abs_radius']:.2f} px, median |d| {fit['median_abs_disparity']:.2f} px, "
          f"d/|c| {fit['disparity_per_radius']:.3f} -> {out}")
    return 0
