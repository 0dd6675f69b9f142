"""Time one runner in a fresh Python process, so its peak RSS is its own.

`measure_in_subprocess(spec)` starts `python -m k3dn.bench.measure` with a JSON spec on stdin; the child
opens the runner, times it and prints one JSON line. `time_callable` is the timing loop itself, shared
with the probes and the benchmarks.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

RESULT_TAG = "K3DN_BENCH_RESULT "


@dataclass
class Timing:
    """Wall times in ms of one runner: load, first call, then `runs` timed calls after `warmup` more."""

    load_ms: float
    first_ms: float
    runs_ms: list[float]
    warmup: int
    rss_before_load_mb: float | None = None
    rss_after_load_mb: float | None = None
    peak_rss_mb: float | None = None
    threads: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def median_ms(self) -> float:
        return float(statistics.median(self.runs_ms))

    @property
    def p10_ms(self) -> float:
        return float(np.percentile(self.runs_ms, 10))

    @property
    def p90_ms(self) -> float:
        return float(np.percentile(self.runs_ms, 90))

    @property
    def mean_ms(self) -> float:
        return float(statistics.fmean(self.runs_ms))

    @property
    def std_ms(self) -> float:
        return float(statistics.pstdev(self.runs_ms))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Timing:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def current_rss_mb() -> float | None:
    """Resident set size of this process now (Linux /proc), in MB."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    Linux: VmHWM of /proc/self/status, the high-water mark of this process's own address space. Not
    ru_maxrss: Linux carries it across execve, so a child started from a large parent reports the parent's peak.
    Elsewhere ru_maxrss (bytes on macOS).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def time_callable(fn: Callable[[], object], runs: int = 10, warmup: int = 2) -> tuple[float, list[float]]:
    """(first call ms, `runs` timed call ms after `warmup` untimed calls)."""
    start = time.perf_counter()
    fn()
    first = (time.perf_counter() - start) * 1e3
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return first, times


def _inputs(size: tuple[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random DP-like pair (the right view is the left view shifted), 1 x 3 x H x W float32."""
    rng = np.random.default_rng(seed)
    left = rng.random((1, 3, *size), dtype=np.float32)
    right = np.ascontiguousarray(np.roll(left, 2, axis=3))
    return left, right


def measure_spec(spec: dict) -> Timing:
    """Open the runner described by `spec` (see `k3dn.bench.artifacts.open_spec`) and time it, in this process."""
    from .artifacts import open_spec

    before = current_rss_mb()
    start = time.perf_counter()
    runner, call = open_spec(spec)
    load = (time.perf_counter() - start) * 1e3
    after = current_rss_mb()
    left, right = _inputs(tuple(spec["size"]))
    first, times = time_callable(lambda: call(left, right), runs=int(spec.get("runs", 10)),
                                 warmup=int(spec.get("warmup", 2)))
    return Timing(load, first, times, int(spec.get("warmup", 2)), before, after, peak_rss_mb(),
                  getattr(runner, "threads", spec.get("threads")))


def measure_in_subprocess(spec: dict, timeout: float = 1800.0) -> Timing:
    """`measure_spec` in a fresh `python -m k3dn.bench.measure`; raises RuntimeError with the child's last lines."""
    env = dict(os.environ)
    threads = spec.get("threads")
    if threads:  # set before any runtime starts its pool; each runner also sets its own count explicitly
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, "-m", "k3dn.bench.measure"], input=json.dumps(spec), text=True,
                          capture_output=True, timeout=timeout, env=env)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            payload = json.loads(line[len(RESULT_TAG):])
            if "error" in payload:
                raise RuntimeError(payload["error"])
            return Timing.from_dict(payload)
    tail = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()][-3:]
    raise RuntimeError(f"the measuring process exited with {proc.returncode}: {' | '.join(tail)[-400:]}")


def _main() -> int:
    spec = json.loads(sys.stdin.read())
    try:
        payload = measure_spec(spec).to_dict()
    except Exception as exc:  # noqa: BLE001 - reported to the parent as this row's reason
        first = (str(exc).strip().splitlines() or [""])[0]
        payload = {"error": f"{type(exc).__name__}: {first[:300]}"}
    sys.stdout.write("\n" + RESULT_TAG + json.dumps(payload) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
