"""Measure K3DN on an attached Android phone: `python benchmarks/phone.py --serial SERIAL --executor-runner BIN
--benchmark-model BIN [--size 256x256] [--threads 4] [--cpu-mask f0]`.

A thin wrapper over `k3dn bench --adb`: it measures the ExecuTorch and LiteRT rows on this machine and on the
phone (artifact + runner binary pushed to /data/local/tmp/k3dn with adb), into the same JSON/Markdown/PNG.
Without adb or a device every phone row is skipped with the reason. How to get the binaries: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys

from k3dn.cli import main

PHONE_ROWS = ("executorch-fp32", "executorch-int8", "tflite-fp32", "tflite-int8", "tflite-int8-dynamic")


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--serial", required=True, help="adb serial (adb devices)")
    p.add_argument("--executor-runner", help="arm64 ExecuTorch executor_runner built with XNNPACK")
    p.add_argument("--benchmark-model", help="arm64 LiteRT benchmark_model")
    p.add_argument("--size", action="append", default=[], help="HxW (repeatable; default 256x256)")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--cpu-mask", help="taskset mask, e.g. f0 for the four big cores of a 4+4 SoC")
    p.add_argument("--out", default="k3dn_bench_phone")
    a = p.parse_args(argv)
    args = ["bench", "--adb", a.serial, "--threads", str(a.threads), "--out", a.out, "--no-probes"]
    for size in a.size or ["256x256"]:
        args += ["--size", size]
    for row in PHONE_ROWS:
        args += ["--rows", row]
    for flag, value in (("--adb-executor-runner", a.executor_runner), ("--adb-benchmark-model", a.benchmark_model),
                        ("--adb-cpu-mask", a.cpu_mask)):
        if value:
            args += [flag, value]
    return main(args)


if __name__ == "__main__":
    sys.exit(cli())
