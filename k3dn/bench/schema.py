"""The JSON `k3dn bench` writes (format 'k3dn-bench-v1'), with names mobile engineers already read.

Each result row has a `latency` block shaped like LiteRT `benchmark_model`'s summary ("Inference timings":
Init, First inference, Warmup (avg), Inference (avg) and its count/min/max/std line), in ms, plus median,
p10 and p90; and Qualcomm AI Hub perf.yaml's per-runtime fields: `inference_time` (microseconds, here the
median), `throughput` (inferences per second), `estimated_peak_memory_range` ({min, max} bytes: RSS after
load and peak RSS of the runner's own process), `precision`, `primary_compute_unit`. Rows measured on a
phone carry `reference_device_info` (perf.yaml's device block: name, os, manufacturer, chipset, ...).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

from .measure import Timing

FORMAT = "k3dn-bench-v1"
FP32_TARGET = 0.80  # best fp32 row >= 80 % of the fp32 probe's GMAC/s
INT8_TARGET = 2.5  # best int8 row >= 2.5 x the fp32 probe's GMAC/s


def megapixels(size: tuple[int, int] | list[int]) -> float:
    return size[0] * size[1] / 1e6


def latency_block(t: Timing) -> dict:
    """LiteRT benchmark_model's timings (as ms) + median / p10 / p90, from one Timing."""
    return {
        "init_ms": round(t.load_ms, 3),
        "first_inference_ms": round(t.first_ms, 3),
        "warmup_runs": t.warmup,
        "runs": len(t.runs_ms),
        "inference_avg_ms": round(t.mean_ms, 3),
        "inference_std_ms": round(t.std_ms, 3),
        "inference_min_ms": round(min(t.runs_ms), 3),
        "inference_max_ms": round(max(t.runs_ms), 3),
        "inference_median_ms": round(t.median_ms, 3),
        "inference_p10_ms": round(t.p10_ms, 3),
        "inference_p90_ms": round(t.p90_ms, 3),
        "all_ms": [round(x, 3) for x in t.runs_ms],
    }


@dataclass
class Result:
    """One row: a runner (backend x precision) at one input size, measured or skipped with a reason."""

    row: str
    name: str
    backend: str
    precision: str
    size: tuple[int, int]
    status: str = "ok"  # ok | skipped | failed
    reason: str = ""
    artifact: str | None = None
    threads: int | None = None
    timing: Timing | None = None
    gmacs: float | None = None  # model MACs of one inference at this size (k3dn.network.complexity), in G
    speedup_vs_eager: float | None = None
    probe: str | None = None
    probe_gmac_per_s: float | None = None
    device: dict | None = None
    extra: dict = field(default_factory=dict)
    local_path: str | None = None  # the artifact on this machine; not written out (the JSON names the file only)

    @property
    def median_ms(self) -> float | None:
        return None if self.timing is None else self.timing.median_ms

    @property
    def ms_per_mp(self) -> float | None:
        return None if self.timing is None else self.timing.median_ms / megapixels(self.size)

    @property
    def gmac_per_s(self) -> float | None:
        if self.timing is None or not self.gmacs:
            return None
        return self.gmacs / (self.timing.median_ms / 1e3)

    @property
    def fraction_of_probe(self) -> float | None:
        g = self.gmac_per_s
        return None if g is None or not self.probe_gmac_per_s else g / self.probe_gmac_per_s

    def to_dict(self) -> dict:
        out = {"row": self.row, "name": self.name, "backend": self.backend, "precision": self.precision,
               "input_size": list(self.size), "megapixels": round(megapixels(self.size), 4), "status": self.status,
               "reason": self.reason, "artifact": self.artifact, "threads": self.threads,
               "primary_compute_unit": "CPU"}
        t = self.timing
        if t is not None:
            out["latency"] = latency_block(t)
            out["inference_time"] = round(t.median_ms * 1e3)
            out["throughput"] = round(1e3 / t.median_ms, 3)
            if t.peak_rss_mb is not None:
                low = t.rss_after_load_mb if t.rss_after_load_mb is not None else t.peak_rss_mb
                out["estimated_peak_memory_range"] = {"min": int(low * 1e6), "max": int(t.peak_rss_mb * 1e6)}
            out["memory_mb"] = {"rss_before_load": t.rss_before_load_mb, "rss_after_load": t.rss_after_load_mb,
                                "peak_rss": t.peak_rss_mb}
            out["ms_per_mp"] = round(self.ms_per_mp, 2)
        out["gmacs"] = None if self.gmacs is None else round(self.gmacs, 2)
        out["gmac_per_s"] = None if self.gmac_per_s is None else round(self.gmac_per_s, 2)
        out["speedup_vs_eager"] = None if self.speedup_vs_eager is None else round(self.speedup_vs_eager, 3)
        out["probe"] = self.probe
        out["probe_gmac_per_s"] = None if self.probe_gmac_per_s is None else round(self.probe_gmac_per_s, 2)
        out["fraction_of_probe"] = None if self.fraction_of_probe is None else round(self.fraction_of_probe, 4)
        if self.device:
            out["reference_device_info"] = self.device
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Result:
        lat = d.get("latency")
        timing = None
        if lat:
            mem = d.get("memory_mb") or {}
            timing = Timing(lat["init_ms"], lat["first_inference_ms"], list(lat["all_ms"]),
                            lat.get("warmup_runs", 0), mem.get("rss_before_load"), mem.get("rss_after_load"),
                            mem.get("peak_rss"), d.get("threads"))
        keys = {"latency", "memory_mb", "inference_time", "throughput", "estimated_peak_memory_range", "ms_per_mp",
                "gmac_per_s", "fraction_of_probe", "row", "name", "backend", "precision", "input_size", "megapixels",
                "status", "reason", "artifact", "threads", "primary_compute_unit", "gmacs", "speedup_vs_eager",
                "probe", "reference_device_info", "probe_gmac_per_s"}
        return cls(d["row"], d["name"], d["backend"], d["precision"], tuple(d["input_size"]), d.get("status", "ok"),
                   d.get("reason", ""), d.get("artifact"), d.get("threads"), timing, d.get("gmacs"),
                   d.get("speedup_vs_eager"), d.get("probe"), d.get("probe_gmac_per_s"),
                   d.get("reference_device_info"), {k: v for k, v in d.items() if k not in keys})


@dataclass
class Probe:
    """A peak probe: its GMACs per call and its timing."""

    name: str
    precision: str
    what: str
    gmacs: float
    status: str = "ok"
    reason: str = ""
    timing: Timing | None = None

    @property
    def gmac_per_s(self) -> float | None:
        return None if self.timing is None else self.gmacs / (self.timing.median_ms / 1e3)

    def to_dict(self) -> dict:
        out = {"name": self.name, "precision": self.precision, "what": self.what, "gmacs": round(self.gmacs, 3),
               "status": self.status, "reason": self.reason}
        if self.timing is not None:
            out["latency"] = latency_block(self.timing)
            out["gmac_per_s"] = round(self.gmac_per_s, 2)
        return out


def best_probe(probes: list[Probe], precision: str) -> Probe | None:
    """The fastest measured probe of `precision` ('fp32' or 'int8')."""
    ok = [p for p in probes if p.precision == precision and p.gmac_per_s]
    return max(ok, key=lambda p: p.gmac_per_s) if ok else None


def attach_probes(results: list[Result], probes: list[Probe]) -> None:
    """Give every row the best probe of its arithmetic (int8* -> int8, else fp32)."""
    for r in results:
        p = best_probe(probes, "int8" if r.precision.startswith("int8") else "fp32")
        if p is not None:
            r.probe, r.probe_gmac_per_s = p.name, p.gmac_per_s


def attach_speedups(results: list[Result], reference_row: str) -> None:
    """speedup_vs_eager = the reference row's median / this row's median, at the same size."""
    ref = {r.size: r.median_ms for r in results if r.row == reference_row and r.median_ms}
    for r in results:
        if r.median_ms and r.size in ref:
            r.speedup_vs_eager = ref[r.size] / r.median_ms


def targets(results: list[Result], probes: list[Probe]) -> list[dict]:
    """The three speed targets at the largest measured size: met, or missed by how much."""
    ok = [r for r in results if r.status == "ok" and r.timing is not None and r.device is None]
    if not ok:
        return []
    size = max({r.size for r in ok}, key=megapixels)
    at = [r for r in ok if r.size == size]
    fp32_probe = best_probe(probes, "fp32")
    out = []

    def add(name: str, value: float | None, goal: float, unit: str, detail: str) -> None:
        if value is None:
            out.append({"target": name, "size": list(size), "status": "not measured", "detail": detail})
            return
        met = value >= goal
        miss = "" if met else f", missed by {goal - value:.2f}{unit} ({value / goal:.0%} of the goal)"
        out.append({"target": name, "size": list(size), "value": round(value, 4), "goal": goal,
                    "status": "met" if met else "missed", "detail": detail + miss})

    fp32 = [r for r in at if r.precision == "fp32" and r.gmac_per_s]
    int8 = [r for r in at if r.precision.startswith("int8") and r.gmac_per_s]
    if fp32_probe is None:
        add("best fp32 >= 80% of the fp32 probe", None, FP32_TARGET, "", "no fp32 probe was measured")
        add("best int8 >= 2.5x the fp32 probe", None, INT8_TARGET, "x", "no fp32 probe was measured")
    else:
        pg = fp32_probe.gmac_per_s
        best = max(fp32, key=lambda r: r.gmac_per_s, default=None)
        vs = f"{fp32_probe.name} {pg:.0f} GMAC/s"
        add("best fp32 >= 80% of the fp32 probe", best and best.gmac_per_s / pg, FP32_TARGET, "",
            f"{best.name}: {best.gmac_per_s:.0f} GMAC/s vs {vs}" if best else "no fp32 row")
        best8 = max(int8, key=lambda r: r.gmac_per_s, default=None)
        add("best int8 >= 2.5x the fp32 probe", best8 and best8.gmac_per_s / pg, INT8_TARGET, "x",
            f"{best8.name}: {best8.gmac_per_s:.0f} GMAC/s vs {vs}" if best8 else "no int8 row")
    ort = {r.precision: r for r in at if r.backend == "onnx"}
    if "fp32" in ort and "int8" in ort:
        ratio = ort["fp32"].median_ms / ort["int8"].median_ms
        out.append({"target": "ONNX Runtime int8 faster than ONNX Runtime fp32", "size": list(size),
                    "value": round(ratio, 3), "goal": 1.0, "status": "met" if ratio > 1 else "missed",
                    "detail": f"int8 {ort['int8'].median_ms:.1f} ms vs fp32 {ort['fp32'].median_ms:.1f} ms "
                              f"({ratio:.2f}x)"})
    else:
        out.append({"target": "ONNX Runtime int8 faster than ONNX Runtime fp32", "size": list(size),
                    "status": "not measured", "detail": "both ONNX Runtime rows are needed"})
    return out


# The vector ISA extensions that decide fp32 / int8 / bf16 speed here (listed when /proc/cpuinfo has them)
ISA_FLAGS = ("avx2", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


def machine_info() -> dict:
    """CPU model (with family / model numbers: one "AMD EPYC" name covers generations whose fp32 throughput
    differs ~2x), its vector ISA, cores, OS and Python of this machine."""
    import os

    cpu, fields = platform.processor() or "", {}
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                key, sep, value = ln.partition(":")
                if not sep:
                    if fields:
                        break  # the first processor's block is enough
                    continue
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name", cpu)
    out = {"cpu": cpu, "logical_cores": os.cpu_count(), "os": f"{platform.system()} {platform.release()}",
           "machine": platform.machine(), "python": platform.python_version()}
    if "cpu family" in fields:
        out["cpu_family"], out["cpu_model"] = fields["cpu family"], fields.get("model")
    flags = set(fields.get("flags", "").split())
    if flags:
        out["isa"] = [f for f in ISA_FLAGS if f in flags]
    return out
