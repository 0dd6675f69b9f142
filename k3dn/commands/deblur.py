"""`k3dn deblur`: deblur DP captures of any size with any runner (PyTorch or an exported artifact), tiled.

Inputs: a left/right pair (`--left/--right`), a column-interleaved DP readout (`--interleaved`), a Canon
DPRAW-style combined image plus one sub-view (`--combined` with `--left`), Bayer mosaics of either (`--bayer`),
or folders of pairs (`--left-dir/--right-dir`, or a DPDD-layout `--dpdd ROOT`) with `--out-dir`.
Runner: `--model ARTIFACT` (.safetensors, .pte, .tflite, .onnx, .mlpackage), or `--backend` (default `auto`:
the fastest exact path here, an ExecuTorch fp32 artifact of the tile size, exported once into the user cache,
or with `--precision int8` the fastest installed int8 artifact;
see k3dn.artifacts) with `--precision fp32|int8`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

from ..backends import EXPORT_BACKENDS, TORCH
from ..errors import UserError

BACKENDS = ("auto", TORCH.name, *EXPORT_BACKENDS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("input (one of)")
    src.add_argument("--left", help="left DP view (PNG/TIFF, 8 or 16 bit); with --combined: the stored sub-view")
    src.add_argument("--right", help="right DP view, same size and bit depth")
    src.add_argument("--interleaved", help="column-interleaved DP readout (H x 2W): left/right alternate per column")
    src.add_argument("--right-first", action="store_true", help="--interleaved starts with the right photodiode")
    src.add_argument("--combined", help="combined (left + right) image; right = combined - left + black")
    src.add_argument("--left-dir", help="folder of left views (batch; pairs matched by file name)")
    src.add_argument("--right-dir", help="folder of right views (batch)")
    src.add_argument("--dpdd", help="DPDD-layout root: deblur every {split}_l/source, {split}_r/source pair")
    src.add_argument("--split", default="test", choices=["train", "val", "test"], help="DPDD split (default test)")
    parser.add_argument("--out", help="output image (.png/.tif), same bit depth as the input, written atomically")
    parser.add_argument("--out-dir", help="output folder for batch mode (one file per pair, named as the left view)")
    sensor = parser.add_argument_group("sensor")
    sensor.add_argument("--black", help="black level: one value or R,G,B (in stored sample units)")
    sensor.add_argument("--white", help="white level: one value or R,G,B (default: the bit depth's maximum)")
    sensor.add_argument("--bits", type=int, help="significant bits of the samples (e.g. 12 -> white 4095)")
    sensor.add_argument("--over-white", default="clip", choices=["clip", "error"],
                        help="samples above the white level: clip them (default) or refuse the frame")
    sensor.add_argument("--flat-left", help="flat-field left view: per-pixel DP vignetting gain (with --flat-right)")
    sensor.add_argument("--flat-right", help="flat-field right view")
    sensor.add_argument("--bayer", choices=["RGGB", "BGGR", "GRBG", "GBRG"],
                        help="the views are Bayer mosaics: bilinear demosaic, then sRGB encoding (the model's input)")
    sensor.add_argument("--linear", action="store_true", help="with --bayer: keep linear RGB (no sRGB curve)")
    sensor.add_argument("--gray", action="store_true", help="accept grayscale views (replicated to RGB, mono out)")
    run = parser.add_argument_group("runner")
    run.add_argument("--model", help="artifact or weights to run: .safetensors, .pte, .tflite, .onnx, .mlpackage")
    run.add_argument("--backend", default="auto", choices=BACKENDS,
                     help="without --model: auto (fastest exact: cached ExecuTorch fp32), torch, or a cached export")
    run.add_argument("--precision", default="fp32", choices=["fp32", "int8"], help="cached export precision")
    run.add_argument("--weights", default=None, help="safetensors weights (default: the shipped K3DN-Tiny)")
    run.add_argument("--threads", type=int, default=None, help="runtime threads (default: the runtime's own)")
    run.add_argument("--tile", type=_tile_arg, default=None,
                     help="tile size in pixels, a multiple of 16 (default 512; an artifact's own size with --model), "
                          "or auto: the tile (<= 1088 px) whose grid computes the fewest pixels for the first frame "
                          "(4000x3000: 1056, 12 tiles instead of 70, 1.12x the frame's pixels), exported once per size")
    run.add_argument("--overlap", type=int, default=None, help="tile overlap, multiple of 16 (default 64)")
    run.add_argument("--skip-in-focus", action="store_true",
                     help="tiles whose DP views agree (no defocus, k3dn.camera.infocus) pass the input's mean view "
                          "through instead of running the network; opt-in and not recommended: -0.29 dB on "
                          "the mild slice for 1 tile in 24 skipped (docs/camera.md)")
    run.add_argument("--max-pixels", type=float, default=None, help="largest view accepted, in pixels (200e6)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")


def _tile_arg(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of pixels or auto, got {text!r}") from None


# Largest tile `--tile auto` picks. At the default overlap 1056 px computes a 4000x3000 frame 1.12x (12 tiles; 1.53x at
# 512 px, 1.24x at the next smaller fit, 864 px). Peak RSS grows with the tile: with the runners' memory fixes (issue
# 31, export revision 2) that frame through ExecuTorch fp32 at 1056-px tiles peaks at 1.57 GB, within the camera
# pipeline's 2 GB target (benchmarks/test_camera_12mp.py -m slow; docs/camera.md).
AUTO_MAX_TILE = 1088


def resolve_tile(tile: int | str | None, overlap: int | None, model: str | None, frame: tuple[int, int]) -> int | None:
    """The tile size to run: --tile as given, or for --tile auto the size that fits `frame` (H, W) best
    (camera.tiling.fit_tile)."""
    if tile != "auto":
        return tile
    if model:
        raise UserError("--tile auto picks the size of an export; with --model the artifact's own size is used")
    from ..camera.deblurrer import DEFAULT_OVERLAP, STRIDE
    from ..camera.tiling import fit_tile

    h, w = (v + (-v) % STRIDE for v in frame)
    try:
        return fit_tile(h, w, DEFAULT_OVERLAP if overlap is None else overlap, max_tile=AUTO_MAX_TILE)
    except ValueError as exc:
        raise UserError(f"--tile auto: {exc}") from exc


def check_output(path: Path, inputs: list[Path] = ()) -> None:
    """Before any work: --out has a written suffix, lies in a writable folder and names none of `inputs`."""
    from .. import files
    from ..io import WRITE_SUFFIXES

    if path.suffix.lower() not in WRITE_SUFFIXES:
        raise UserError(f"--out {path}: unsupported extension {path.suffix!r}; use .png, .tif or .tiff")
    try:
        files.check_writable_file(path, "--out")
        files.protect({"--out": path}, {f"input {p}": p for p in inputs})
    except ValueError as exc:
        raise UserError(str(exc)) from None


# Every flag that names a file `k3dn deblur` reads: no output may be one of them.
INPUT_FLAGS = ("left", "right", "interleaved", "combined", "flat_left", "flat_right", "model", "weights")
MAX_TILE = 4096  # a 4096-px tile already needs ~4 GB in the runtimes; more is a typo
MAX_LEVEL = 65535.0


def validate(args: argparse.Namespace) -> None:
    """Every flag checked before any file is read or any model built: one clear UserError for the first bad one."""
    from ..camera.runners import MAX_THREADS
    from ..io import check_max_pixels

    if args.max_pixels is not None:
        try:
            args.max_pixels = check_max_pixels(args.max_pixels)
        except ValueError:
            raise UserError(f"--max-pixels must be a finite number >= 1, got {args.max_pixels}") from None
    if args.threads is not None and not 1 <= args.threads <= MAX_THREADS:
        raise UserError(f"--threads must be between 1 and {MAX_THREADS}, got {args.threads}")
    if isinstance(args.tile, int) and not (32 <= args.tile <= MAX_TILE and args.tile % 16 == 0):
        raise UserError(f"--tile must be a multiple of 16 from 32 to {MAX_TILE} (or auto), got {args.tile}")
    if args.overlap is not None and not (0 <= args.overlap < MAX_TILE // 2 and args.overlap % 16 == 0):
        raise UserError(f"--overlap must be a multiple of 16 from 0 to {MAX_TILE // 2 - 16}, got {args.overlap}")
    levels = {what: _levels(getattr(args, what), what) for what in ("black", "white")}
    for what, value in levels.items():
        for v in value if isinstance(value, list) else [] if value is None else [value]:
            if not 0 <= v <= MAX_LEVEL:  # also false for NaN
                raise UserError(f"--{what} must be between 0 and {MAX_LEVEL:.0f}, got {getattr(args, what)}")
    if args.combined and isinstance(levels["black"], list):
        raise UserError("--combined takes a single --black value")
    if args.bits is not None and not 1 <= args.bits <= 16:
        raise UserError(f"--bits must be between 1 and 16, got {args.bits}")
    if levels["black"] is not None and levels["white"] is not None:
        b, w = (v if isinstance(v, list) else [v] * 3 for v in (levels["black"], levels["white"]))
        if any(wi <= bi for bi, wi in zip(b, w, strict=True)):
            raise UserError(f"--white {args.white} must be above --black {args.black}")
    if args.linear and not args.bayer:
        raise UserError("--linear applies to --bayer input only")


def protect_inputs(args: argparse.Namespace, jobs: list[tuple[list[str], Path]]) -> None:
    """No output of this run may be (or link to) a file it reads, whichever flag names that file."""
    from .. import files

    inputs = {f"--{f.replace('_', '-')}": getattr(args, f) for f in INPUT_FLAGS if getattr(args, f, None)}
    for sources, out in jobs:
        named = dict(inputs, **{f"input {p}": p for p in sources})
        try:
            files.protect({"--out" if args.out else "--out-dir file": out}, named)
        except ValueError as exc:
            raise UserError(str(exc)) from None


def _levels(text: str | None, what: str):
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"--{what} must be a number or R,G,B, got {text!r}") from None
    if not all(np.isfinite(values)):
        raise UserError(f"--{what} must be finite, got {text!r}")
    if len(values) not in (1, 3):
        raise UserError(f"--{what} takes one value or three (R,G,B), got {len(values)}")
    return values[0] if len(values) == 1 else values


def _read(path: str, max_pixels: float):
    from ..io import MAX_PIXELS, read_samples

    try:
        return read_samples(path, max_pixels or MAX_PIXELS)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from None


def _pairs(args: argparse.Namespace) -> list[tuple[list[str], Path]]:
    """[(input files, output path)] for single or batch mode; checks the mode's flags."""
    batch = bool(args.left_dir or args.right_dir or args.dpdd)
    if batch:
        if not args.out_dir or args.out:
            raise UserError("batch mode (--left-dir/--right-dir or --dpdd) writes into --out-dir, not --out")
        if args.dpdd:
            from ..data.dpdd import find_dpdd_root

            root = find_dpdd_root(args.dpdd)
            ldir, rdir = root / f"{args.split}_l" / "source", root / f"{args.split}_r" / "source"
        else:
            if not (args.left_dir and args.right_dir):
                raise UserError("batch mode needs both --left-dir and --right-dir")
            ldir, rdir = Path(args.left_dir), Path(args.right_dir)
        for d in (ldir, rdir):
            if not d.is_dir():
                raise UserError(f"{d}: no such folder")
        out_dir = Path(args.out_dir)
        if not out_dir.is_dir():
            raise UserError(f"--out-dir {out_dir}: no such folder")
        names = sorted(p.name for p in ldir.iterdir() if p.suffix.lower() in (".png", ".tif", ".tiff"))
        missing = [n for n in names if not (rdir / n).is_file()]
        if not names or missing:
            raise UserError(f"{ldir}: no images" if not names else f"{rdir}: no right view for {missing[:3]}")
        if out_dir.resolve() in (ldir.resolve(), rdir.resolve()):
            raise UserError(f"--out-dir {out_dir} is an input folder; the inputs would be overwritten")
        return [([str(ldir / n), str(rdir / n)], out_dir / n) for n in names]
    if not args.out:
        raise UserError("--out is required (or --out-dir with --left-dir/--right-dir or --dpdd)")
    if args.interleaved:
        inputs = [args.interleaved]
    elif args.combined:
        if not args.left:
            raise UserError("--combined needs --left (the stored sub-view)")
        inputs = [args.combined, args.left]
    else:
        if not (args.left and args.right):
            raise UserError("give --left and --right (or --interleaved, or --combined with --left)")
        inputs = [args.left, args.right]
    return [(inputs, Path(args.out))]


def _views(args: argparse.Namespace, inputs: list[str]):
    """(left, right, bits) of one capture, unpacked from its layout."""
    from concurrent.futures import ThreadPoolExecutor

    from ..camera import raw
    from ..errors import PipelineError

    with ThreadPoolExecutor(len(inputs), thread_name_prefix="k3dn-decode") as pool:  # OpenCV decodes without the GIL
        arrays = list(pool.map(lambda p: _read(p, args.max_pixels), inputs))
    bits = {b for _, b in arrays}
    if len(bits) > 1:
        raise UserError(f"{inputs[0]} is {arrays[0][1]}-bit but {inputs[1]} is {arrays[1][1]}-bit")
    try:
        if args.interleaved:
            left, right = raw.deinterleave_columns(arrays[0][0], left_first=not args.right_first)
        elif args.combined:
            black = _levels(args.black, "black")
            if isinstance(black, list):
                raise UserError("--combined takes a single --black value")
            left, right = raw.split_combined(arrays[0][0], arrays[1][0], int(black or 0))
        else:
            (left, _), (right, _) = arrays
            if left.ndim != right.ndim:
                kinds = ["grayscale (one channel)" if v.ndim == 2 else "RGB" for v in (left, right)]
                raise UserError(f"left is {kinds[0]} but right is {kinds[1]}; both views must have the same channels")
            if left.shape != right.shape:
                lw, lh, rw, rh = left.shape[1], left.shape[0], right.shape[1], right.shape[0]
                raise UserError(f"left is {lw}x{lh} but right is {rw}x{rh}")
    except PipelineError as exc:
        raise UserError(str(exc)) from exc
    return left, right, bits.pop()


def _sensor(args: argparse.Namespace, left: np.ndarray, right: np.ndarray, bits: int):
    """(left, right, levels kwargs) after Bayer demosaicing and flat-field gains."""
    from ..camera import levels, raw

    black, white = _levels(args.black, "black"), _levels(args.white, "white")
    if args.bits is not None:
        if not 1 <= args.bits <= bits:
            raise UserError(f"--bits {args.bits} must be between 1 and the file's bit depth {bits}")
        white = white if white is not None else float(2 ** args.bits - 1)
    kw = {"black": black, "white": white, "over_white": args.over_white}
    if args.bayer:
        enc = "linear" if args.linear else "srgb"
        left, right = (raw.bayer_to_rgb(v, args.bayer, black, white, encoding=enc) for v in (left, right))
        kw = {"over_white": "clip"}
    if args.flat_left or args.flat_right:
        if not (args.flat_left and args.flat_right):
            raise UserError("--flat-left and --flat-right go together")
        flats = [_read(p, args.max_pixels)[0] for p in (args.flat_left, args.flat_right)]
        if flats[0].shape[:2] != left.shape[:2] or flats[1].shape[:2] != left.shape[:2]:
            raise UserError(f"flat-field views are {flats[0].shape[:2]}, the frame is {left.shape[:2]}")
        units = [levels.to_unit(f if f.ndim == 3 else f[..., None], black if not args.bayer else None,
                                white if not args.bayer else None) for f in flats]
        kw["gain_left"], kw["gain_right"] = levels.flat_field_gains(*units)
        if left.ndim == 2:
            kw["gain_left"], kw["gain_right"] = (g.mean(axis=2) for g in (kw["gain_left"], kw["gain_right"]))
    return left, right, kw


def _frames(args: argparse.Namespace, jobs: list[tuple[list[str], Path]]):
    """(output path, left, right, bits, levels kwargs) of each job, decoded and unpacked; UserError at a bad one."""
    from ..errors import PipelineError

    for inputs, out in jobs:
        try:
            left, right, bits = _views(args, inputs)
            left, right, kw = _sensor(args, left, right, bits)
        except (PipelineError, ValueError) as exc:
            raise UserError(str(exc)) from None
        yield out, left, right, bits, kw


def _write(sharp: np.ndarray, bits: int, out: Path, last: bool) -> None:
    """Encode one output in the input's bit depth and write it atomically (k3dn.files)."""
    from .. import files
    from ..errors import PipelineError
    from ..io import atomic_write_bytes, encode_image, encode_samples

    try:
        data = encode_image(sharp, bits, out.suffix, str(out)) if sharp.dtype.kind == "f" else \
            encode_samples(sharp, out.suffix, str(out))
        # The last output's rename completes the command: a Ctrl-C arriving during it is dropped and the
        # command reports success, so an interrupted run never leaves a replaced file behind an error.
        atomic_write_bytes(out, data, last=last)
    except (PipelineError, ValueError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(files.describe_os_error(exc, out)) from None


def run(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    from ..camera import Deblurrer
    from ..camera.infocus import SKIP_THRESHOLD
    from ..camera.prefetch import prefetch
    from ..errors import PipelineError
    from .runner_choice import open_cli_runner

    validate(args)
    jobs = _pairs(args)
    protect_inputs(args, jobs)
    single = len(jobs) == 1
    if single:
        check_output(jobs[0][1], [Path(p) for p in jobs[0][0]])
    runner = None
    # Batch mode is a pipeline: the next pair is decoded (prefetch) and the previous output encoded and written (the
    # writer thread) while this pair runs, so a frame's cost is its inference. One frame runs in series: its views
    # are decoded in parallel (_views), its tiles prepared ahead of the runner (Deblurrer).
    frames = _frames(args, jobs) if single else prefetch(_frames(args, jobs), name="k3dn-reader")
    with ThreadPoolExecutor(1, thread_name_prefix="k3dn-writer") as writer, contextlib.closing(frames):
        pending = None
        for out, left, right, bits, kw in tqdm(frames, total=len(jobs), disable=single or args.quiet, desc="pairs",
                                               unit="pair"):
            if runner is None:  # lazy: the first frame's size picks the tile and with it the artifact
                tile = resolve_tile(args.tile, args.overlap, args.model, left.shape[:2])
                runner = open_cli_runner(args.model, args.weights, args.backend, args.precision, args.threads, tile,
                                         frame=left.shape[:2])
            try:
                skip = SKIP_THRESHOLD if args.skip_in_focus else None
                deblur = Deblurrer(runner, tile=tile, skip_in_focus=skip,
                                   **({} if args.overlap is None else {"overlap": args.overlap}))
                h, w = left.shape[:2]
                show = not args.quiet and len(deblur.tiles(h, w)) > 1 and single
                stats: dict = {}
                sharp = deblur(left, right, gray=args.gray, progress=show, stats=stats, **kw)
            except (PipelineError, ValueError) as exc:
                raise UserError(str(exc)) from None
            if single:
                _write(sharp, bits, out, last=True)
                passed = f", {stats['skipped']} in focus passed through" if args.skip_in_focus else ""
                print(f"wrote {out} ({w}x{h}, {bits}-bit, {runner.name} {runner.precision}, "
                      f"{stats['tiles']} tile(s) of {deblur.tile[0]}x{deblur.tile[1]}{passed})")
                continue
            if pending is not None:
                pending.result()  # the previous output is written (or its error raised) before the next is queued
            pending = writer.submit(_write, sharp, bits, out, False)
        if pending is not None:
            pending.result()
    if not single:
        print(f"wrote {len(jobs)} images into {args.out_dir} ({runner.name} {runner.precision})", file=sys.stdout)
    return 0
