"""12 MP (4000 x 3000, 16-bit) DP pair through `k3dn deblur`, one subprocess per backend: wall time, the wall time
over the time the frame's MACs take at this machine's conv probe (one 128->128 3x3 fp32 conv through oneDNN, timed
in the same run), peak RSS, the overlap factor (pixels computed / frame pixels), and agreement with the first row.
Targets (issue 31): <= 1.5x the probe time through the default exact path, <= 0.6x through int8, peak RSS < 2 GB,
overlap factor <= 1.15.

    python benchmarks/camera_12mp.py --backends auto executorch:int8 --threads 2 [--tile auto] [--out FILE.md]
    python benchmarks/camera_12mp.py --io --tile auto     # the share of time outside inference, serial vs pipelined

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


def probe_gmac_per_s(threads: int, runs: int = 10) -> float:
    """This machine's fp32 conv rate: the `torch-conv-fp32` probe of k3dn bench (k3dn.bench.probes), median of runs."""
    import torch

    from k3dn.bench.probes import CHANNELS, PLANE, _conv, probe_gmac

    torch.set_num_threads(threads)
    conv = _conv().to(memory_format=torch.channels_last)
    x = torch.rand(1, CHANNELS, *PLANE).to(memory_format=torch.channels_last)
    times = []
    with torch.no_grad():
        for i in range(runs + 2):
            start = time.perf_counter()
            conv(x)
            if i >= 2:
                times.append(time.perf_counter() - start)
    return probe_gmac() / float(np.median(times))


def frame_gmac(h: int = 3000, w: int = 4000) -> float:
    """The shipped model's MACs for one h x w frame, in G (per-pixel MACs at 512 x 512, times the frame's pixels)."""
    import k3dn
    from k3dn.network.complexity import count_macs

    return count_macs(k3dn.load_pretrained("tiny"), (512, 512)) / 512 ** 2 * h * w / 1e9


def overlap(tile: str | None, h: int = 3000, w: int = 4000) -> float:
    """Pixels computed / frame pixels at --tile (None: the default 512) and the default overlap."""
    from k3dn.camera.deblurrer import DEFAULT_OVERLAP, STRIDE
    from k3dn.camera.tiling import overlap_factor

    side = int(tile or 512)
    return overlap_factor(h, w, side, side, DEFAULT_OVERLAP, padded=(h + (-h) % STRIDE, w + (-w) % STRIDE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["auto", "executorch:int8"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--tile", help="k3dn deblur --tile for every backend (a size, or auto; default 512)")
    parser.add_argument("--out", help="also write the Markdown table here")
    parser.add_argument("--io", action="store_true", help="measure the share of time outside inference instead")
    args = parser.parse_args()
    from k3dn.io import read_samples

    if args.tile == "auto":  # the 12 MP frame's own tile, also for the small warm-up frame
        from k3dn.commands.deblur import resolve_tile

        args.tile = str(resolve_tile("auto", None, None, (3000, 4000)))
    if args.io:
        from camera_io import main as io_main

        io_main(args.backends[0], args.threads, int(args.tile or 512))
        return
    gmac, rate = frame_gmac(), probe_gmac_per_s(args.threads)
    print(f"frame {gmac:.0f} GMAC; probe {rate:.0f} GMAC/s -> {gmac / rate:.1f} s at the probe's rate; "
          f"overlap factor {overlap(args.tile):.3f}", flush=True)
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
            rows.append(f"| {b} | {args.tile or 512} | {overlap(args.tile):.2f} | {args.threads} | {wall:.1f} | "
                        f"{wall / (gmac / rate):.2f} | {rss:.2f} | {'-' if img is ref else f'{psnr:.1f}'} |")
            print(rows[-1], flush=True)
    table = (f"probe (torch-conv-fp32, same run): {rate:.0f} GMAC/s; frame: {gmac:.0f} GMAC = {gmac / rate:.1f} s\n\n"
             "| backend | tile | overlap factor | threads | wall s (12 MP) | x probe time | peak RSS GB | "
             "PSNR vs first row dB |\n|---|---|---:|---:|---:|---:|---:|---:|\n"
             + "\n".join(rows) + "\n")
    print(table)
    if args.out:
        Path(args.out).write_text(f"`python benchmarks/camera_12mp.py --backends {' '.join(args.backends)} "
                                  f"--threads {args.threads}{f' --tile {args.tile}' if args.tile else ''}`\n\n{table}")


if __name__ == "__main__":
    main()
