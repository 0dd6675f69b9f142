"""`k3dn deblur`: deblur a user's DP pair (8- or 16-bit PNG/TIFF) of any size."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..cli import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--left", required=True, help="left DP view (PNG or TIFF, 8 or 16 bit, RGB)")
    parser.add_argument("--right", required=True, help="right DP view, same size and bit depth")
    parser.add_argument("--out", required=True, help="output image (.png/.tif), written with the input's bit depth")
    parser.add_argument("--weights", default=None, help="safetensors weights (default: the shipped K3DN-Tiny)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--tile", type=int, default=512, help="frames larger than this run in tiles (pixels)")
    parser.add_argument("--overlap", type=int, default=64, help="tile overlap in pixels")
    parser.add_argument("--gray", action="store_true", help="accept grayscale views (replicated to RGB)")


def check_output(path: Path) -> None:
    from ..io import WRITE_SUFFIXES

    if path.suffix.lower() not in WRITE_SUFFIXES:
        raise UserError(f"--out {path}: unsupported extension {path.suffix!r}; use .png, .tif or .tiff")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"--out {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UserError(f"--out {path}: directory {parent} is not writable")
    if path.is_dir():
        raise UserError(f"--out {path} is a directory")


def load_model(weights: str | None, device: str):
    import torch

    from ..weights_io import WeightsError, load_pretrained, load_weights

    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda requested but no CUDA device is available")
    try:
        model = load_weights(weights) if weights else load_pretrained("tiny")
    except WeightsError as exc:
        raise UserError(str(exc)) from exc
    return model.to(device)


def run(args: argparse.Namespace) -> int:
    from ..io import read_image, write_image
    from ..pipeline import deblur_image

    out = Path(args.out)
    check_output(out)
    if args.tile < 64 or not 0 <= args.overlap < args.tile // 2:
        raise UserError(f"need --tile >= 64 and 0 <= --overlap < tile/2, got {args.tile}, {args.overlap}")
    try:
        left, bits_l = read_image(args.left, allow_gray=args.gray)
        right, bits_r = read_image(args.right, allow_gray=args.gray)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from exc
    if left.shape != right.shape:
        raise UserError(f"left is {left.shape[1]}x{left.shape[0]} but right is {right.shape[1]}x{right.shape[0]}")
    if bits_l != bits_r:
        raise UserError(f"left is {bits_l}-bit but right is {bits_r}-bit")
    model = load_model(args.weights, args.device)
    min_size = model.config.min_size
    if min(left.shape[:2]) < min_size:
        raise UserError(f"image is {left.shape[1]}x{left.shape[0]}; K3DN needs at least {min_size}x{min_size}")
    h, w = left.shape[:2]
    sharp = deblur_image(model, left, right, tile=args.tile, overlap=args.overlap, device=args.device,
                         progress=max(h, w) > args.tile)
    try:
        write_image(out, sharp, bits=bits_l)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from exc
    print(f"wrote {out} ({w}x{h}, {bits_l}-bit)")
    return 0
