"""Rows measured on an Android phone over adb, in the same schema as the host rows.

`k3dn bench --adb SERIAL --adb-executor-runner BIN --adb-benchmark-model BIN` (or `python benchmarks/phone.py`)
pushes each .pte / .tflite artifact of the run and the runner binary to /data/local/tmp/k3dn, runs

    taskset MASK executor_runner --model_path M.pte --num_executions N --cpu_threads T
    taskset MASK benchmark_model --graph=M.tflite --num_threads=T --num_runs=N --warmup_runs=W

and parses their logs (`parse_executor_runner`, `parse_benchmark_model`). The device block records model,
manufacturer, SoC, Android version, ABI and the CPU mask / threads used. Without an adb binary or device the
rows are skipped with the reason. How to build or get each binary: benchmarks/README.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .measure import Timing
from .schema import Result

REMOTE = "/data/local/tmp/k3dn"
_NUM = r"([0-9]+(?:\.[0-9]+)?)"


class PhoneError(RuntimeError):
    """adb is missing, the device is not attached, or a runner failed on it."""


# --- parsers ---------------------------------------------------------------------------------------
def parse_executor_runner(text: str) -> dict:
    """ExecuTorch `executor_runner` log -> {load_ms, runs_ms, total_ms, num_executions, threads}.

    Reads the lines its ET_LOG prints: 'Resetting threadpool with num threads = T', 'Model loaded in X ms.'
    (newer runners), 'Iteration i of n: X ms' (newer runners) and 'Model executed successfully n time(s) in
    X ms.' (all versions). Without per-iteration lines, runs_ms is the mean repeated n times (flagged by
    'per_run': False). Raises ValueError if the success line is missing.
    """
    done = re.search(r"Model executed successfully (\d+) time\(s\) in " + _NUM + r" ms", text)
    if not done:
        raise ValueError("no 'Model executed successfully N time(s) in X ms' line in the executor_runner output")
    n, total = int(done.group(1)), float(done.group(2))
    iters = [float(m.group(3)) for m in re.finditer(r"Iteration (\d+) of (\d+): " + _NUM + " ms", text)]
    load = re.search(r"Model loaded in " + _NUM + " ms", text)
    threads = re.search(r"Resetting threadpool with num threads = (\d+)", text)
    per_run = len(iters) == n and n > 0
    return {"num_executions": n, "total_ms": total, "runs_ms": iters if per_run else [total / max(n, 1)] * n,
            "per_run": per_run, "load_ms": float(load.group(1)) if load else None,
            "threads": int(threads.group(1)) if threads else None}


def parse_benchmark_model(text: str) -> dict:
    """LiteRT/TFLite `benchmark_model` log -> {init_ms, first_ms, warmup_avg_ms, avg_ms, std_ms, min_ms, max_ms,
    count, median_ms, p5_ms, p95_ms, peak_memory_mb, threads}.

    Reads 'Inference timings in us: Init: a, First inference: b, Warmup (avg): c, Inference (avg): d', the
    last 'count=.. first=.. curr=.. min=.. max=.. avg=.. std=..' line (the timed runs; newer builds add
    'p5=.. median=.. p95=..'), '#threads used for CPU inference: [T]' and the peak memory line
    ('Overall peak memory footprint (MB) via periodic monitoring: X' or the 'Memory footprint delta' one).
    Raises ValueError if the timings line is missing.
    """
    timings = re.search(r"Inference timings in us: Init: " + _NUM + r", First inference: " + _NUM
                        + r", Warmup \(avg\): " + _NUM + r", Inference \(avg\): " + _NUM, text)
    if not timings:
        raise ValueError("no 'Inference timings in us: ...' line in the benchmark_model output")
    init, first, warm, avg = (float(timings.group(i)) / 1e3 for i in range(1, 5))
    out = {"init_ms": init, "first_ms": first, "warmup_avg_ms": warm, "avg_ms": avg}
    stats = list(re.finditer(r"count=(\d+)((?: \w+=-?[0-9.e+]+)+)", text))
    if stats:
        last = stats[-1]
        fields = dict(kv.split("=") for kv in last.group(2).split())
        out["count"] = int(last.group(1))
        for key, name in (("min", "min_ms"), ("max", "max_ms"), ("std", "std_ms"), ("median", "median_ms"),
                          ("p5", "p5_ms"), ("p95", "p95_ms")):
            if key in fields:
                out[name] = float(fields[key]) / 1e3
    threads = re.search(r"#threads used for CPU inference: \[(\d+)\]", text) or re.search(
        r"Num threads: \[(\d+)\]", text)
    out["threads"] = int(threads.group(1)) if threads else None
    peak = re.search(r"Overall peak memory footprint \(MB\) via periodic monitoring: " + _NUM, text)
    delta = re.search(r"Memory footprint delta from the start of the tool \(MB\): init=" + _NUM + " overall=" + _NUM,
                      text)
    out["peak_memory_mb"] = float(peak.group(1)) if peak else (float(delta.group(2)) if delta else None)
    return out


def parse_getprop(text: str) -> dict[str, str]:
    """`adb shell getprop` output ('[key]: [value]' lines) -> dict."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^\[([^\]]+)\]: \[([^\]]*)\]\s*$", text, re.M)}


def device_info(props: dict[str, str], cpu_mask: str | None, threads: int | None) -> dict:
    """AI Hub perf.yaml's reference_device_info fields from getprop, plus the thread pinning used."""
    chipset = props.get("ro.soc.model") or props.get("ro.board.platform") or props.get("ro.hardware", "")
    return {"name": props.get("ro.product.model", ""), "manufacturer": props.get("ro.product.manufacturer", ""),
            "chipset": chipset, "soc_manufacturer": props.get("ro.soc.manufacturer", ""),
            "os": props.get("ro.build.version.release", ""), "os_name": "Android", "form_factor": "Phone",
            "abi": props.get("ro.product.cpu.abi", ""), "cpu_mask": cpu_mask or "none (scheduler's choice)",
            "threads": threads}


def timing_from_executor_runner(parsed: dict, warmup: int) -> Timing:
    """A Timing from parse_executor_runner: the first run is the first, the rest after `warmup` are timed."""
    runs = parsed["runs_ms"]
    return Timing(parsed["load_ms"] or 0.0, runs[0], runs[1 + warmup:] or runs, warmup, threads=parsed["threads"])


def timing_from_benchmark_model(parsed: dict, warmup: int) -> Timing:
    """A Timing from parse_benchmark_model: benchmark_model prints statistics, not every run, so runs_ms holds
    the median (or average) and the min/max; the row records that under 'per_run': False."""
    mid = parsed.get("median_ms", parsed["avg_ms"])
    lo, hi = parsed.get("p5_ms", parsed.get("min_ms", mid)), parsed.get("p95_ms", parsed.get("max_ms", mid))
    peak = parsed.get("peak_memory_mb")
    return Timing(parsed["init_ms"], parsed["first_ms"], [lo, mid, mid, mid, hi], warmup, peak_rss_mb=peak,
                  threads=parsed.get("threads"))


# --- adb -------------------------------------------------------------------------------------------
def adb_binary() -> str:
    """`adb` on PATH, else the one adbutils bundles; PhoneError if neither."""
    found = shutil.which("adb")
    if found:
        return found
    try:
        import adbutils

        return adbutils.adb_path()
    except Exception as exc:  # noqa: BLE001
        raise PhoneError("no adb: put Android platform-tools on PATH or pip install -e '.[bench]' (adbutils)") \
            from exc


def _adb(serial: str, *args: str, timeout: float = 600) -> str:
    proc = subprocess.run([adb_binary(), "-s", serial, *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise PhoneError(f"adb {' '.join(args[:2])}: {(proc.stderr or proc.stdout).strip()[:300]}")
    return proc.stdout + proc.stderr


def attached(serial: str) -> str | None:
    """None if `serial` is an attached, authorised device, else why not."""
    try:
        out = subprocess.run([adb_binary(), "devices"], capture_output=True, text=True, timeout=30).stdout
    except (PhoneError, OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    states = dict(ln.split()[:2] for ln in out.splitlines()[1:] if len(ln.split()) >= 2)
    if serial not in states:
        return f"no adb device {serial!r} attached (adb devices lists {sorted(states) or 'none'})"
    if states[serial] != "device":
        return f"adb device {serial} is {states[serial]}"
    return None


def run_on_device(serial: str, artifact: Path, binary: Path, threads: int, runs: int, warmup: int,
                  cpu_mask: str | None = None) -> tuple[Timing, str]:
    """Push `artifact` and `binary`, run the binary on the device, return (Timing, raw log)."""
    _adb(serial, "shell", "mkdir", "-p", REMOTE)
    remote_bin, remote_model = f"{REMOTE}/{binary.name}", f"{REMOTE}/{artifact.name}"
    _adb(serial, "push", str(binary), remote_bin)
    _adb(serial, "shell", "chmod", "755", remote_bin)
    _adb(serial, "push", str(artifact), remote_model)
    pin = ["taskset", cpu_mask] if cpu_mask else []
    if artifact.suffix == ".pte":
        cmd = [*pin, remote_bin, f"--model_path={remote_model}", f"--num_executions={1 + warmup + runs}",
               f"--cpu_threads={threads}", "--print_output=none"]
        log = _adb(serial, "shell", *cmd)
        return timing_from_executor_runner(parse_executor_runner(log), warmup), log
    cmd = [*pin, remote_bin, f"--graph={remote_model}", f"--num_threads={threads}", f"--num_runs={runs}",
           f"--warmup_runs={warmup}", "--report_peak_memory_footprint=true"]
    log = _adb(serial, "shell", *cmd)
    return timing_from_benchmark_model(parse_benchmark_model(log), warmup), log


@dataclass(frozen=True)
class PhoneSettings:
    """What `k3dn bench --adb` measures on the phone (the command's options, named)."""

    serial: str
    rows: Sequence[str] = ()  # row keys; empty: every row (only the ExecuTorch and LiteRT ones run on a phone)
    threads: int | None = None  # None: 4
    executor_runner: str | None = None  # arm64 ExecuTorch executor_runner binary
    benchmark_model: str | None = None  # arm64 LiteRT benchmark_model binary
    cpu_mask: str | None = None  # taskset mask, e.g. f0 (the big cores)
    variant: str = "tiny"
    weights: str | None = None
    runs: int = 10
    warmup: int = 2
    calib: int | None = None  # calibration pairs of int8 artifacts (None: the cache's default)


def phone_rows(settings: PhoneSettings, sizes: list[tuple[int, int]], cache: Path, gmac_per_mp: float,
               progress: Callable[[str], None] = print) -> list[Result]:
    """The phone rows of `k3dn bench --adb`: ExecuTorch and LiteRT artifacts of the run, skipped with a reason
    when adb, the device or a runner binary is missing."""
    from .artifacts import ROW_LABELS, ArtifactSet, row_info

    s = settings
    serial, threads = s.serial, s.threads or 4
    keys = [k for k in (s.rows or ROW_LABELS) if k.startswith(("executorch", "tflite"))]
    binaries = {"executorch": s.executor_runner, "tflite": s.benchmark_model}
    why = attached(serial)
    props = {}
    if why is None:
        props = parse_getprop(_adb(serial, "shell", "getprop"))
    device = device_info(props, s.cpu_mask, threads) if props else {"name": serial}
    out = []
    for size in sizes:
        artifacts = ArtifactSet(cache, s.variant, size, s.weights, s.calib)
        for key in keys:
            backend, precision = row_info(key)
            r = Result(key, ROW_LABELS[key], backend, precision, size, threads=threads, device=device,
                       gmacs=gmac_per_mp * size[0] * size[1] / 1e6)
            out.append(r)
            binary = binaries[backend]
            flag = "--adb-executor-runner" if backend == "executorch" else "--adb-benchmark-model"
            reason = why or (None if binary and Path(binary).is_file() else f"no {backend} runner binary ({flag})")
            if reason:
                r.status, r.reason = "skipped", reason
                progress(f"[phone] {size[0]}x{size[1]} {r.name}: skipped: {reason}")
                continue
            try:
                path = artifacts.get(backend, precision, build=False)
                r.artifact = path.name
                r.timing, _ = run_on_device(serial, path, Path(binary), threads, s.runs, s.warmup, s.cpu_mask)
                progress(f"[phone] {size[0]}x{size[1]} {r.name}: median {r.timing.median_ms:.1f} ms")
            except (PhoneError, ValueError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
                r.status, r.reason = "failed", str(exc)[:300]
                progress(f"[phone] {size[0]}x{size[1]} {r.name}: failed: {r.reason}")
    return out
