"""`k3dn synth`: write simulated dual-pixel samples and a preview montage.

Per sample NNNN: NNNN_left.png, NNNN_right.png, NNNN_gt.png (16-bit sRGB), NNNN_depth.npy (float32,
metres) and NNNN_meta.json (source, kernel family, camera, sensor), written as a unit (temporary
files renamed into place), so an interrupted run never leaves half a sample. Then preview.png:
one row per sample (up to --preview rows) of left | right | |L - R| x 4 | ground truth.
Sample i is the same as `k3dn.data.TrainDataset(patch=S, seed=--seed).sample(i)` for a square size S.
"""

from __future__ import annotations

import argparse
import io
import json

import numpy as np

from ..errors import UserError
from .limits import check_max_radius
from .outdir import prepare_out

MAX_SIZE = 4096


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--n", type=int, required=True, help="number of samples")
    parser.add_argument("--size", default="256x256", help="sample size HxW or S (default 256x256)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--sources", default="deadleaves,photos",
                        help="comma-separated scene sources: deadleaves, photos (default both)")
    parser.add_argument("--max-radius", type=float, default=12.0, help="largest blur radius in px (default 12)")
    parser.add_argument("--preview", type=int, default=4, help="rows in preview.png (default 4, 0 = none)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def parse_size(text: str) -> tuple[int, int]:
    from ..network.config import K3DNConfig

    parts = text.lower().replace(" ", "").split("x")
    try:
        if len(parts) == 1:
            h = w = int(parts[0])
        elif len(parts) == 2:
            h, w = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise UserError(f"--size {text!r}: expected HxW (e.g. 256x384) or a single size") from None
    min_size = K3DNConfig().min_size
    if min(h, w) < min_size:
        raise UserError(f"--size {h}x{w}: height and width must be at least {min_size} (the model's minimum input)")
    if max(h, w) > MAX_SIZE:
        raise UserError(f"--size {h}x{w}: height and width must be at most {MAX_SIZE}")
    return h, w


def montage(rows: list[dict]) -> np.ndarray:
    """left | right | |L-R| x 4 | ground truth, one row per sample, 4 px white gutters."""
    gap = 4
    lines = []
    for s in rows:
        diff = np.clip(np.abs(s["left"] - s["right"]) * 4, 0, 1)
        h = s["left"].shape[0]
        sep = np.ones((h, gap, 3), np.float32)
        lines.append(np.concatenate([s["left"], sep, s["right"], sep, diff, sep, s["sharp"]], axis=1))
    out = []
    for i, line in enumerate(lines):
        if i:
            out.append(np.ones((gap, line.shape[1], 3), np.float32))
        out.append(line)
    return np.concatenate(out, axis=0)


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    if args.n <= 0:
        raise UserError(f"--n must be a positive number of samples, got {args.n}")
    size = parse_size(args.size)
    sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    bad = [s for s in sources if s not in ("deadleaves", "photos")]
    if not sources or bad:
        raise UserError(f"--sources {args.sources!r}: choose from deadleaves, photos")
    check_max_radius(args.max_radius)
    if args.preview < 0:
        raise UserError("--preview must be >= 0")
    out = prepare_out(args.out)

    from tqdm import tqdm

    from ..data.generate import random_sample
    from ..io import atomic_write_bytes, atomic_write_many, encode_image

    digits = max(4, len(str(args.n - 1)))
    preview = []
    for i in tqdm(range(args.n), desc="synth", unit="pair", disable=args.no_progress, dynamic_ncols=True):
        s = random_sample(size, np.random.default_rng([args.seed, i]), sources, max_radius=args.max_radius, linear=None)
        stem = f"{i:0{digits}d}"
        meta = s["meta"] | {"index": i, "seed": args.seed, "size": list(size)}
        atomic_write_many({
            out / f"{stem}_left.png": encode_image(s["left"], 16),
            out / f"{stem}_right.png": encode_image(s["right"], 16),
            out / f"{stem}_gt.png": encode_image(s["sharp"], 16),
            out / f"{stem}_depth.npy": _npy_bytes(s["depth"].astype(np.float32)),
            out / f"{stem}_meta.json": json.dumps(meta, indent=1).encode(),
        })
        if len(preview) < args.preview:
            preview.append({k: s[k] for k in ("left", "right", "sharp")})
    if preview:
        atomic_write_bytes(out / "preview.png", encode_image(montage(preview), 8))
    print(f"wrote {args.n} DP samples of {size[0]}x{size[1]} to {out}" + (f" (preview: {out / 'preview.png'})"
                                                                          if preview else ""))
    return 0
