"""`k3dn bench`: latency, memory and throughput of every runner x precision x size, against this machine's peak.

Per row (each measured in a fresh process, so peak RSS is the runner's own): load time, first-run time,
median / p10 / p90 over --runs runs after --warmup warm-up runs, ms per megapixel, speed-up against PyTorch
eager fp32 measured in the same run, GMAC/s and its fraction of the matching peak probe, peak RSS, threads
(set on every runtime). Writes `bench.json`, `bench.md` and `bench.png` into --out. Artifacts are built with
the export/quantize pipelines (or taken from --artifacts) and cached. `--adb SERIAL` adds rows measured on an
Android phone (k3dn.bench.phone). Exit status 0, or 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from .. import files
from ..backends import BACKENDS
from ..errors import UserError
from .limits import check_size, output_dir

DEFAULT_SIZES = ("256x256", "512x512", "1024x1024", "1120x1680")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="the smallest size only, 10 runs (a few minutes)")
    parser.add_argument("--size", action="append", default=[],
                        help=f"HxW, repeatable (default: {', '.join(DEFAULT_SIZES)}; multiples of 16)")
    parser.add_argument("--rows", action="append", default=[],
                        help="row keys to run, repeatable (default: all; see --list); 'torch-compile' is opt-in")
    parser.add_argument("--list", action="store_true", help="print the row keys and exit")
    parser.add_argument("--threads", type=int, default=None, help="threads for every runtime (default: all cores)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per row after warm-up (default 10, >= 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs after the first (default 2)")
    parser.add_argument("--artifacts", help="folder with artifacts to use (k3dn export/quantize output); "
                                            "missing ones are built into the cache")
    parser.add_argument("--cache", help="cache root, shared with k3dn deblur (default $K3DN_CACHE, else "
                                        "$XDG_CACHE_HOME/k3dn, else ~/.cache/k3dn; artifacts under artifacts/)")
    parser.add_argument("--no-build", action="store_true", help="never build an artifact: rows without one are skipped")
    parser.add_argument("--calib", type=int, default=None,
                        help="calibration pairs for int8 artifacts built here (default 16, as k3dn deblur's)")
    parser.add_argument("--out", default="k3dn_bench", help="output folder (default ./k3dn_bench)")
    parser.add_argument("--no-probes", action="store_true", help="skip the peak probes")
    parser.add_argument("--profile", action="store_true",
                        help="per-operator profile of the ONNX Runtime rows at the largest size (top ops)")
    parser.add_argument("--variant", default="tiny", help="model variant (default tiny)")
    parser.add_argument("--weights", help="safetensors weights (default: the shipped weights)")
    parser.add_argument("--adb", metavar="SERIAL", help="also measure on this Android device over adb")
    parser.add_argument("--adb-executor-runner",
                        help="arm64 ExecuTorch executor_runner binary to push (see benchmarks/README.md)")
    parser.add_argument("--adb-benchmark-model", help="arm64 LiteRT benchmark_model binary to push")
    parser.add_argument("--adb-cpu-mask", help="taskset mask for the phone runs, e.g. f0 (the big cores)")


def _sizes(args: argparse.Namespace) -> list[tuple[int, int]]:
    from k3dn.export.common import parse_size

    texts = args.size or ([DEFAULT_SIZES[0]] if args.quick else list(DEFAULT_SIZES))
    sizes = []
    for text in texts:
        try:
            h, w = parse_size(text)
        except ValueError as exc:
            raise UserError(f"--size: {exc}") from exc
        if h % 16 or w % 16 or min(h, w) < 32:
            raise UserError(f"--size {text}: H and W must be multiples of 16 and >= 32")
        check_size((h, w))
        sizes.append((h, w))
    return sorted(dict.fromkeys(sizes), key=lambda s: s[0] * s[1])


def _validate(args: argparse.Namespace) -> None:
    from ..camera.runners import MAX_THREADS

    if args.runs < 10:
        raise UserError(f"--runs must be >= 10 (the issue's minimum for median/p10/p90), got {args.runs}")
    if args.warmup < 0:
        raise UserError(f"--warmup must be >= 0, got {args.warmup}")
    if args.threads is not None and not 1 <= args.threads <= MAX_THREADS:
        raise UserError(f"--threads must be between 1 and {MAX_THREADS}, got {args.threads}")
    if args.calib is not None and args.calib <= 0:
        raise UserError(f"--calib must be positive, got {args.calib}")
    if args.artifacts and not Path(args.artifacts).is_dir():
        raise UserError(f"--artifacts {args.artifacts}: not a folder")
    if args.weights and not Path(args.weights).is_file():
        raise UserError(f"--weights {args.weights}: no such file")


def _skip_reason(backend: str) -> str | None:
    """Why a backend cannot run here (None if it can)."""
    import importlib.util

    if backend == "coreml" and platform.system() != "Darwin":
        return f"CoreML predictions need macOS, this is {platform.system()}"
    module = BACKENDS[backend].runtime_module if backend in BACKENDS else None
    if module and importlib.util.find_spec(module) is None:
        return f"{module} is not installed (pip install -e '.[export]')"
    return None


def run(args: argparse.Namespace) -> int:
    from ..bench.artifacts import OPTIONAL_ROWS, ROW_LABELS, ROWS

    if args.list:
        for key, _backend, precision, runtime in ROWS:
            print(f"{key:22s} {runtime} {precision}")
        for key in OPTIONAL_ROWS:
            print(f"{key:22s} {ROW_LABELS[key]} (opt-in)")
        return 0
    _validate(args)
    known = [k for k, *_ in ROWS] + list(OPTIONAL_ROWS)
    bad = [r for r in args.rows if r not in known]
    if bad:
        raise UserError(f"--rows: unknown {bad}; choose from {known}")
    try:
        import k3dn.export.pipeline  # noqa: F401 - the artifact builders; fails early without the extras
    except ImportError as exc:
        raise UserError(f"the export package is not importable ({exc}); install with pip install -e '.[export]'") \
            from exc
    sizes = _sizes(args)
    out = output_dir(args.out)
    from ..bench.phone import PhoneSettings
    from ..bench.runner import BenchSettings, run_bench

    rows = args.rows or [k for k, *_ in ROWS]
    threads = args.threads or os.cpu_count() or 1
    phone = None if not args.adb else PhoneSettings(
        args.adb, args.rows, args.threads, args.adb_executor_runner, args.adb_benchmark_model, args.adb_cpu_mask,
        args.variant, args.weights, args.runs, args.warmup, args.calib)
    settings = BenchSettings(args.variant, args.weights, args.runs, args.warmup, args.cache, args.artifacts,
                             args.calib, build=not args.no_build, probes=not args.no_probes, profile=args.profile,
                             phone=phone)
    start = time.perf_counter()
    obj = run_bench(settings, sizes, rows, threads, _skip_reason)
    obj["command"] = "k3dn bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "k3dn bench"
    obj["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    obj["wall_s"] = round(time.perf_counter() - start, 1)
    from ..bench.report import markdown, plot
    from ..bench.schema import Probe, Result

    results = [Result.from_dict(d) for d in obj["results"]]
    probes = obj.pop("_probes", [])
    files.write_text(out / "bench.json", json.dumps(obj, indent=1, default=str) + "\n")
    text = markdown(obj, results, [p for p in probes if isinstance(p, Probe)])
    files.write_text(out / "bench.md", text)
    plot(results, out / "bench.png")
    print("\n" + text)
    print(f"k3dn bench: wrote {out / 'bench.json'}, {out / 'bench.md'}, {out / 'bench.png'} in {obj['wall_s']:.0f} s")
    if results and all(r.status == "failed" for r in results):
        print("k3dn bench: every row failed (see the table)", file=sys.stderr)
        return 1
    return 0
