"""12 MP (4000 x 3000, 16-bit) DP pair through `k3dn deblur`, one subprocess per backend: wall time, peak RSS,
and agreement with the first row. Targets (issue 20): <= 10 s with the default backend, <= 2 GB peak RSS.

    python benchmarks/camera_12mp.py --backends auto executorch:int8 --threads 2 [--out docs/bench/camera_12mp.md]

Artifacts come from the user cache (k3dn.artifacts; exported once, not timed here: run each backend once
first, or pass --warm, which runs a 600x600 frame through each backend before timing).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_pair(folder: Path, h: int = 3000, w: int = 4000) -> tuple[Path, Path]:
    """A 16-bit pair from a bundled photograph, upscaled to h x w, right view shifted by 3 px."""
    import cv2
    from skimage import data

    from k3dn.io import encode_samples

    img = cv2.resize(data.astronaut(), (w, h), interpolation=cv2.INTER_CUBIC).astype(np.uint16) * 257
    blur = cv2.GaussianBlur(img, (0, 0), 2.0)
    paths = folder / "left.png", folder / "right.png"
    for p, v in zip(paths, (blur, np.roll(blur, 3, axis=1)), strict=True):
        p.write_bytes(encode_samples(v, ".png"))
    return paths


def run(left: Path, right: Path, out: Path, backend: str, threads: int, tile: str | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS GB) of one `k3dn deblur` subprocess."""
    name, _, precision = backend.partition(":")
    cmd = [sys.executable, "-m", "k3dn.cli", "deblur", "--left", str(left), "--right", str(right), "--out", str(out),
           "--backend", name, "--precision", precision or "fp32", "--threads", str(threads), "--quiet"]
    cmd += ["--tile", tile] if tile else []
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status:
        raise SystemExit(f"{backend}: k3dn deblur exited {status}")
    return wall, usage.ru_maxrss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["auto", "executorch:int8"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--tile", help="k3dn deblur --tile for every backend (a size, or auto; default 512)")
    parser.add_argument("--out", help="also write the Markdown table here")
    args = parser.parse_args()
    from k3dn.io import read_samples

    if args.tile == "auto":  # the 12 MP frame's own tile, also for the small warm-up frame
        from k3dn.camera.deblurrer import DEFAULT_OVERLAP
        from k3dn.camera.tiling import fit_tile
        from k3dn.commands.deblur import AUTO_MAX_TILE

        args.tile = str(fit_tile(3008, 4000, DEFAULT_OVERLAP, max_tile=AUTO_MAX_TILE))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        left, right = make_pair(tmp)
        if args.warm:
            sl, sr = make_pair(Path(tempfile.mkdtemp()), 600, 600)
            for b in args.backends:
                run(sl, sr, tmp / "warm.png", b, args.threads, args.tile)
        rows, ref = [], None
        for b in args.backends:
            out = tmp / f"{b.replace(':', '_')}.png"
            wall, rss = run(left, right, out, b, args.threads, args.tile)
            img = read_samples(out)[0].astype(np.float64) / 65535
            ref = img if ref is None else ref
            psnr = float("inf") if img is ref else 10 * np.log10(1 / max(np.mean((img - ref) ** 2), 1e-20))
            rows.append(f"| {b} | {args.tile or 512} | {args.threads} | {wall:.1f} | {rss:.2f} | "
                        f"{'-' if img is ref else f'{psnr:.1f}'} |")
            print(rows[-1], flush=True)
    table = ("| backend | tile | threads | wall s (12 MP) | peak RSS GB | PSNR vs first row dB |\n"
             "|---|---|---:|---:|---:|---:|\n"
             + "\n".join(rows) + "\n")
    print(table)
    if args.out:
        Path(args.out).write_text(f"`python benchmarks/camera_12mp.py --backends {' '.join(args.backends)} "
                                  f"--threads {args.threads}{f' --tile {args.tile}' if args.tile else ''}`\n\n{table}")


if __name__ == "__main__":
    main()
