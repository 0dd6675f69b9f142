"""The `k3dn bench` loop: probes, then every row at every size, each timed in a fresh process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .artifacts import REFERENCE_ROW, ROW_LABELS, ArtifactSet, row_info
from .measure import measure_in_subprocess
from .phone import PhoneSettings
from .probes import PROBES, build_probe, probe_gmac
from .schema import FORMAT, Probe, Result, attach_probes, attach_speedups, machine_info, megapixels, targets
from .verification import verification


def _say(msg: str) -> None:
    print(msg, flush=True)


def run_probes(cache: Path, threads: int, runs: int, warmup: int,
               skip_reason: Callable[[str], str | None]) -> list[Probe]:
    """Measure every peak probe (building its artifact into cache/probes first)."""
    probes = []
    for i, (name, (precision, what)) in enumerate(PROBES.items(), 1):
        p = Probe(name, precision, what, probe_gmac())
        backend = {"xnnpack": "executorch", "ort": "onnx"}.get(name.split("-")[0])
        reason = skip_reason(backend) if backend else None
        if reason:
            p.status, p.reason = "skipped", reason
        else:
            try:
                path = build_probe(name, cache / "probes")
                p.timing = measure_in_subprocess({"probe": name, "row": name, "path": str(path) if path else None,
                                                  "size": [16, 16], "threads": threads, "runs": runs,
                                                  "warmup": warmup})
            except Exception as exc:  # noqa: BLE001 - a probe that fails is reported, the run goes on
                p.status, p.reason = "failed", f"{type(exc).__name__}: {str(exc)[:200]}"
        probes.append(p)
        got = f"{p.gmac_per_s:.0f} GMAC/s ({p.timing.median_ms:.1f} ms)" if p.timing else f"{p.status}: {p.reason}"
        _say(f"[probe {i}/{len(PROBES)}] {name}: {got}")
    return probes


@dataclass(frozen=True)
class BenchSettings:
    """How `k3dn bench` measures (the command's options, named)."""

    variant: str = "tiny"
    weights: str | None = None  # safetensors weights (None: the shipped ones)
    runs: int = 10  # timed runs per row after warm-up
    warmup: int = 2
    cache: str | None = None  # cache root (None: k3dn.artifacts.cache_root())
    artifacts: str | None = None  # a folder of ready artifacts to use first
    calib: int | None = None  # calibration pairs of int8 artifacts (None: the cache's default)
    build: bool = True  # False: rows without an artifact are skipped, nothing is exported
    probes: bool = True  # measure the peak probes
    profile: bool = False  # per-op profile of the ORT rows
    phone: PhoneSettings | None = None  # also measure on an Android phone over adb


def run_bench(settings: BenchSettings, sizes: list[tuple[int, int]], rows: list[str], threads: int,
              skip_reason: Callable[[str], str | None]) -> dict:
    """Everything `k3dn bench` measures, as the JSON object (plus '_probes': the Probe objects)."""
    from k3dn.artifacts import cache_root
    from k3dn.export.weights import model_and_source
    from k3dn.network.complexity import PAPER_SIZE, count_macs

    opts = settings
    cache = Path(opts.cache) if opts.cache else cache_root()
    model, weights_info = model_and_source(opts.variant, opts.weights)
    gmac_per_mp = count_macs(model, PAPER_SIZE) / 1e9 / megapixels(PAPER_SIZE)
    _say(f"k3dn bench: {model.config.name}, {len(sizes)} size(s) x {len(rows)} row(s), {threads} threads, "
         f"{opts.runs} runs after {opts.warmup} warm-up; cache {cache}")
    probes = [] if not opts.probes else run_probes(cache / "bench", threads, opts.runs, opts.warmup, skip_reason)
    results: list[Result] = []
    total, n = len(sizes) * len(rows), 0
    for size in sizes:
        gmacs = count_macs(model, size) / 1e9
        artifacts = ArtifactSet(cache, opts.variant, size, opts.weights, opts.calib, progress=_say,
                                folder=Path(opts.artifacts) if opts.artifacts else None)
        for key in rows:
            n += 1
            backend, precision = row_info(key)
            r = Result(key, ROW_LABELS[key], backend, precision, size, threads=threads, gmacs=gmacs)
            results.append(r)
            reason = skip_reason(backend) if backend != "torch" else None
            if reason:
                r.status, r.reason = "skipped", reason
                _say(f"[{n}/{total}] {size[0]}x{size[1]} {r.name}: skipped: {reason}")
                continue
            spec = {"row": key, "size": list(size), "threads": threads, "runs": opts.runs, "warmup": opts.warmup,
                    "variant": opts.variant, "weights": opts.weights}
            try:
                if backend != "torch":
                    path = artifacts.get(backend, precision, build=opts.build)
                    spec["path"], r.artifact = str(path), path.name
                    r.local_path = str(path)
                _say(f"[{n}/{total}] {size[0]}x{size[1]} {r.name}: timing ...")
                r.timing = measure_in_subprocess(spec)
            except Exception as exc:  # noqa: BLE001 - one row failing does not stop the others
                r.status = "failed" if opts.build else "skipped"
                r.reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                _say(f"[{n}/{total}] {size[0]}x{size[1]} {r.name}: {r.status}: {r.reason}")
                continue
            t = r.timing
            _say(f"[{n}/{total}] {size[0]}x{size[1]} {r.name}: median {t.median_ms:.1f} ms (p10 {t.p10_ms:.1f}, "
                 f"p90 {t.p90_ms:.1f}), {r.ms_per_mp:.0f} ms/MP, {r.gmac_per_s:.0f} GMAC/s, "
                 f"peak RSS {t.peak_rss_mb:.0f} MB")
    if opts.phone is not None:
        from .phone import phone_rows

        results += phone_rows(opts.phone, sizes, cache, gmac_per_mp, progress=_say)
    attach_probes(results, probes)
    attach_speedups(results, REFERENCE_ROW)
    obj = {"format": FORMAT, "machine": machine_info(), "threads": threads, "runs": opts.runs, "warmup": opts.warmup,
           "model": {"variant": model.config.name, "weights": weights_info.get("source"),
                     "weights_sha256": weights_info.get("file_sha256"), "gmac_per_mp": round(gmac_per_mp, 2),
                     "macs_counted_by": "k3dn.network.complexity.count_macs (convs and matmuls, FLOPs/2)"},
           "toolchain": _toolchain(), "probes": [p.to_dict() for p in probes],
           "results": [r.to_dict() for r in results], "targets": targets(results, probes),
           "verification": verification(results), "profiles": []}
    if opts.profile:
        obj["profiles"] = _profiles(results, threads)
    obj["_probes"] = probes
    return obj


def _toolchain() -> dict:
    try:
        from k3dn.export.common import toolchain_versions

        return toolchain_versions()
    except Exception:  # noqa: BLE001
        return {}


def _profiles(results: list[Result], threads: int) -> list[dict]:
    """ORT per-op profiles of the ONNX Runtime rows at the largest measured size, slowest first."""
    from .profile import ort_op_profile

    ort = [r for r in results if r.backend == "onnx" and r.timing is not None and r.device is None]
    if not ort:
        return []
    size = max({r.size for r in ort}, key=megapixels)
    out = []
    for r in sorted([r for r in ort if r.size == size], key=lambda r: -r.median_ms):
        _say(f"profiling {r.name} at {size[0]}x{size[1]} (onnxruntime enable_profiling) ...")
        prof = ort_op_profile(r.local_path, size, threads)
        out.append({"row": r.name, "size": list(size), **prof})
    return out
