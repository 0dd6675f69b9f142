"""Per-operator time of an ONNX Runtime artifact (SessionOptions.enable_profiling), summarised as top ops.

ORT is the runtime here whose Python API gives per-op times without a special build (ExecuTorch needs an
ETDump-enabled runtime, LiteRT's op profiler is a benchmark_model flag), so `k3dn bench --profile` profiles
the ONNX Runtime rows, which also shows why a QDQ graph is or is not running integer kernels.
"""

from __future__ import annotations

import collections
import json
import tempfile
from pathlib import Path

import numpy as np

from .measure import _inputs


def ort_op_profile(path: str | Path, size: tuple[int, int], threads: int | None = None, runs: int = 5,
                   top: int = 10) -> dict:
    """{"tool", "runs", "total_ms", "top_ops": [{op, ms_per_run, share, nodes}]} of `runs` runs after one warm-up."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="k3dn-ort-prof-") as tmp:
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads, opts.inter_op_num_threads = int(threads), 1
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        left, right = _inputs(size)
        feed = {"left": left, "right": right}
        session.run(None, feed)
        for _ in range(runs):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    return summarise_ort_events(events, runs + 1, top)


def summarise_ort_events(events: list[dict], runs: int, top: int = 10) -> dict:
    """Aggregate ORT profiler 'Node' kernel events by op type."""
    time_us: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time"):
            op = e.get("args", {}).get("op_name", "?")
            time_us[op] += float(e.get("dur", 0))
            calls[op] += 1
    total = sum(time_us.values()) or 1.0
    ops = [{"op": op, "ms_per_run": round(us / 1e3 / runs, 3), "share": round(us / total, 4),
            "nodes": int(np.ceil(calls[op] / runs))} for op, us in time_us.most_common(top)]
    return {"tool": "onnxruntime SessionOptions.enable_profiling", "runs": runs,
            "total_ms": round(total / 1e3 / runs, 3), "top_ops": ops}
