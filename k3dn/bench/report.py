"""`k3dn bench` output: the Markdown table (per size), the probes, the targets, the per-op profile and the
PNG plot of median latency against megapixels per runner (drawn with OpenCV, a core dependency)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .schema import Probe, Result, megapixels
from .verification import verification_lines


def _f(value: float | None, fmt: str, dash: str = "-") -> str:
    return dash if value is None or (isinstance(value, float) and not math.isfinite(value)) else format(value, fmt)


def results_table(results: Sequence[Result]) -> str:
    """One Markdown table over all sizes: a row per runner and size, skipped rows with their reason."""
    head = ("| size | runner | precision | threads | load ms | first ms | median ms | p10–p90 ms | ms/MP | vs eager "
            "| GMAC/s | of probe | peak RSS MB |")
    lines = [head, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        size = f"{r.size[0]}×{r.size[1]}"
        where = f" ({r.device.get('name', 'phone')})" if r.device else ""
        if r.timing is None:
            lines.append(f"| {size} | {r.name}{where} | {r.precision} | {_f(r.threads, 'd')} | {r.status}: {r.reason} "
                         "| | | | | | | | |")
            continue
        t = r.timing
        frac = _f(r.fraction_of_probe and 100 * r.fraction_of_probe, ".0f")
        frac = f"{frac} %" if frac != "-" else frac
        lines.append(
            f"| {size} | {r.name}{where} | {r.precision} | {_f(r.threads, 'd')} | {t.load_ms:.0f} | {t.first_ms:.0f} "
            f"| **{t.median_ms:.1f}** | {t.p10_ms:.1f}–{t.p90_ms:.1f} | {r.ms_per_mp:.0f} "
            f"| {_f(r.speedup_vs_eager, '.2f')}× | {_f(r.gmac_per_s, '.0f')} | {frac} "
            f"| {_f(t.peak_rss_mb, '.0f')} |")
    return "\n".join(lines)


def probes_table(probes: Sequence[Probe]) -> str:
    lines = ["| probe | precision | what | GMAC per call | median ms | GMAC/s |", "|---|---|---|---:|---:|---:|"]
    for p in probes:
        if p.timing is None:
            lines.append(f"| {p.name} | {p.precision} | {p.what} | {p.gmacs:.2f} | {p.status}: {p.reason} | |")
        else:
            lines.append(f"| {p.name} | {p.precision} | {p.what} | {p.gmacs:.2f} | {p.timing.median_ms:.1f} "
                         f"| **{p.gmac_per_s:.0f}** |")
    return "\n".join(lines)


def targets_lines(targets: Sequence[dict]) -> str:
    return "\n".join(f"- **{t['status']}** — {t['target']} at {t['size'][0]}×{t['size'][1]}: {t['detail']}"
                     for t in targets)


def profile_lines(profile: dict | None) -> str:
    if not profile:
        return ""
    lines = [f"Per-operator profile: {profile['row']} at {profile['size'][0]}×{profile['size'][1]} "
             f"({profile['tool']}, {profile['runs']} runs, {profile['total_ms']:.1f} ms of kernel time per run)", "",
             "| op | ms per run | share | nodes |", "|---|---:|---:|---:|"]
    for op in profile["top_ops"]:
        lines.append(f"| {op['op']} | {op['ms_per_run']:.1f} | {100 * op['share']:.1f} % | {op['nodes']} |")
    return "\n".join(lines)


def markdown(obj: dict, results: Sequence[Result], probes: Sequence[Probe]) -> str:
    """The whole report: machine, command, the table, probes, targets, profiles."""
    m = obj["machine"]
    family = f", family {m['cpu_family']} model {m['cpu_model']}" if m.get("cpu_family") else ""
    isa = f" [{' '.join(m['isa'])}]" if m.get("isa") else ""
    parts = [f"# k3dn bench — {obj['model']['variant']}, {m['cpu']}{family} ({m['logical_cores']} logical cores)"
             f"{isa}, {obj['threads']} threads", "",
             f"`{obj['command']}` — {obj['created']}; weights {obj['model']['weights']}; "
             f"{obj['model']['gmac_per_mp']:.1f} GMAC per megapixel (k3dn.network.complexity.count_macs); median of "
             f"{obj['runs']} runs after {obj['warmup']} warm-up runs, each runner in a fresh process.", "",
             results_table(results), ""]
    if probes:
        parts += ["Peak probes (one 128→128 3×3 convolution, 1×128×256×256, same threads):", "", probes_table(probes),
                  ""]
    if obj.get("targets"):
        parts += ["Targets:", "", targets_lines(obj["targets"]), ""]
    if obj.get("verification"):
        parts += ["Where each target is verified:", "", verification_lines(obj["verification"]), ""]
    for prof in obj.get("profiles") or []:
        parts += [profile_lines(prof), ""]
    return "\n".join(parts).rstrip() + "\n"


# --- plot ------------------------------------------------------------------------------------------
_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (0, 0, 0), (100, 100, 255)]


def plot(results: Sequence[Result], path: str | Path, title: str = "K3DN latency vs megapixels") -> Path:
    """PNG: median latency (ms, log scale) against megapixels, one line per runner; p10–p90 as a bar."""
    import cv2

    w, h, left, right, top, bottom = 1100, 640, 80, 330, 50, 60
    img = np.full((h, w, 3), 255, np.uint8)
    series: dict[str, list[Result]] = {}
    for r in results:
        if r.timing is not None and r.device is None:
            series.setdefault(f"{r.name} {r.precision}", []).append(r)
    pts = [(megapixels(r.size), r.timing) for rs in series.values() for r in rs]
    path = Path(path)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, title, (left, 30), font, 0.7, (0, 0, 0), 1, cv2.LINE_AA)
    if not pts:
        cv2.putText(img, "no measured rows", (left, h // 2), font, 0.8, (0, 0, 0), 1, cv2.LINE_AA)
        _write_png(path, img)
        return path
    xmax = max(p[0] for p in pts) * 1.08
    lo = min(t.p10_ms for _, t in pts) / 1.3
    hi = max(t.p90_ms for _, t in pts) * 1.3
    ylo, yhi = math.log10(lo), math.log10(hi)

    def xy(mp: float, ms: float) -> tuple[int, int]:
        x = left + (w - left - right) * mp / xmax
        y = h - bottom - (h - top - bottom) * (math.log10(ms) - ylo) / (yhi - ylo)
        return int(round(x)), int(round(y))

    cv2.rectangle(img, (left, top), (w - right, h - bottom), (0, 0, 0), 1)
    for e in range(math.floor(ylo), math.ceil(yhi) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** e
            if lo <= v <= hi:
                _, y = xy(0, v)
                cv2.line(img, (left, y), (w - right, y), (225, 225, 225), 1)
                cv2.putText(img, f"{v:g}", (8, y + 4), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    step = 0.25 if xmax <= 1.5 else 0.5
    for i in range(0, int(xmax / step) + 1):
        x, _ = xy(i * step, lo)
        cv2.line(img, (x, h - bottom), (x, h - bottom + 5), (0, 0, 0), 1)
        cv2.putText(img, f"{i * step:g}", (x - 12, h - bottom + 22), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "megapixels", ((w - right + left) // 2 - 40, h - 12), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "ms", (30, top - 10), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (name, rs) in enumerate(series.items()):
        rgb = _COLORS[i % len(_COLORS)]
        color = (rgb[2], rgb[1], rgb[0])
        rs = sorted(rs, key=lambda r: megapixels(r.size))
        xys = [xy(megapixels(r.size), r.timing.median_ms) for r in rs]
        for a, b in zip(xys, xys[1:], strict=False):
            cv2.line(img, a, b, color, 2, cv2.LINE_AA)
        for r, p in zip(rs, xys, strict=True):
            cv2.circle(img, p, 4, color, -1, cv2.LINE_AA)
            top_y, bot_y = xy(0, r.timing.p90_ms)[1], xy(0, r.timing.p10_ms)[1]
            cv2.line(img, (p[0], top_y), (p[0], bot_y), color, 1)
        y = top + 18 + 22 * i
        cv2.line(img, (w - right + 15, y - 5), (w - right + 40, y - 5), color, 2)
        cv2.putText(img, name[:40], (w - right + 46, y), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_png(path, img)
    return path


def _write_png(path: Path, img: np.ndarray) -> None:
    """The chart through the one atomic write path (k3dn.files)."""
    import cv2

    from .. import files

    ok, data = cv2.imencode(".png", img)
    if not ok:
        raise ValueError(f"{path}: OpenCV could not encode the chart")
    files.write_bytes(path, data.tobytes())
