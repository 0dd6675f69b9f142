"""The share of a 12 MP `k3dn deblur` frame spent outside inference (decode, tile preparation, blending, encode,
write), serial (the pipeline before issue 31) against pipelined (views decoded in parallel, tiles prepared in a
background thread while the runner computes: what `k3dn deblur` does now), in one process on one runner.

    python benchmarks/camera_12mp.py --io --backends auto --tile auto --threads 2

Serial: read the left view, then the right, run every tile in turn (prefetch off), encode and write. Pipelined: the
command's own functions (`k3dn.commands.deblur._frames`, `_write`) with the Deblurrer's prefetch on. The share is
1 - (seconds inside the runner) / (wall seconds of the frame); start-up (runtime load) is outside both.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from k3dn.camera import Deblurrer
from k3dn.camera.runners import Runner


class Timed(Runner):
    """A runner that adds up the seconds spent inside `inner`."""

    def __init__(self, inner: Runner) -> None:
        super().__init__()
        self.inner, self.name, self.input_shape, self.seconds = inner, inner.name, inner.input_shape, 0.0
        self.thread_safe, self.lock = inner.thread_safe, inner.lock

    def _run(self, left, right):
        start = time.perf_counter()
        try:
            return self.inner(left, right)
        finally:
            self.seconds += time.perf_counter() - start


def serial(runner: Timed, left: Path, right: Path, out: Path, tile: int) -> dict:
    from k3dn.io import atomic_write_bytes, encode_samples, read_samples

    start = time.perf_counter()
    lv, _ = read_samples(left)
    rv, _ = read_samples(right)
    decoded = time.perf_counter()
    sharp = Deblurrer(runner, tile=tile, prefetch=False)(lv, rv)
    deblurred = time.perf_counter()
    atomic_write_bytes(out, encode_samples(sharp, out.suffix))
    end = time.perf_counter()
    return {"decode": decoded - start, "deblur": deblurred - decoded, "encode+write": end - deblurred,
            "wall": end - start}


def pipelined(runner: Timed, left: Path, right: Path, out: Path, tile: int) -> dict:
    from k3dn.commands.deblur import _frames, _write, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--left", str(left), "--right", str(right), "--out", str(out)])
    start = time.perf_counter()
    path, lv, rv, bits, kw = next(_frames(args, [([str(left), str(right)], out)]))
    decoded = time.perf_counter()
    sharp = Deblurrer(runner, tile=tile, prefetch=True)(lv, rv, **kw)
    deblurred = time.perf_counter()
    _write(sharp, bits, path, last=False)
    end = time.perf_counter()
    return {"decode": decoded - start, "deblur": deblurred - decoded, "encode+write": end - deblurred,
            "wall": end - start}


def main(backend: str, threads: int, tile: int) -> None:
    from camera_12mp import make_pair

    from k3dn.commands.runner_choice import open_cli_runner

    name, _, precision = backend.partition(":")
    runner = Timed(open_cli_runner(None, None, name, precision or "fp32", threads, tile, frame=(3000, 4000)))
    with tempfile.TemporaryDirectory() as tmp:
        left, right = make_pair(Path(tmp))
        print(f"| mode ({backend}, {tile}-px tiles, {threads} threads) | decode s | deblur s | of which inference s | "
              "encode+write s | wall s | share outside inference |\n|---|---:|---:|---:|---:|---:|---:|")
        for label, fn in (("serial (before)", serial), ("pipelined (now)", pipelined)):
            runner.seconds = 0.0
            t = fn(runner, left, right, Path(tmp) / f"{label[:3]}.png", tile)
            print(f"| {label} | {t['decode']:.2f} | {t['deblur']:.2f} | {runner.seconds:.2f} "
                  f"| {t['encode+write']:.2f} | "
                  f"{t['wall']:.2f} | {1 - runner.seconds / t['wall']:.1%} |", flush=True)
