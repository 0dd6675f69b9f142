"""The export step end to end, per backend: lower -> export -> audit -> parity -> sidecar -> rename.

An artifact only ever appears under its final name after its graph audit and its parity check
passed; a backend whose toolchain is missing is skipped with the reason; a failure in one backend
does not stop the others. `k3dn export` is a thin CLI over `export_backends`.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch

from k3dn import files
from k3dn.backends import BACKENDS as TABLE
from k3dn.network.config import K3DNConfig
from k3dn.network.model import K3DN

from .common import (
    BACKENDS,
    EXPORT_REVISION,
    INPUT_NAMES,
    OUTPUT_NAME,
    ExportError,
    GraphAudit,
    artifact_name,
    missing_modules,
    path_sha256,
    path_size,
    remove_path,
    temp_path,
    toolchain_versions,
    write_json_atomic,
)
from .lower import LoweredK3DN, lower
from .memory import planned_pte_bytes, sidecar_memory
from .parity import FP16_BUDGET, FP32_BUDGET, PARITY_SEEDS, ParityError, ParityResult, check_parity, parity_pairs
from .runners import RuntimeUnavailable, TorchRunner, open_runner

SIDECAR_FORMAT = "k3dn-export-v1"


@dataclass
class Outcome:
    """What happened to one backend: status 'ok', 'skipped' or 'failed', with the reason for the latter two."""

    backend: str
    status: str
    reason: str = ""
    precision: str = ""
    artifact: Path | None = None
    sidecar: Path | None = None
    parity: ParityResult | None = None
    audit: GraphAudit | None = None
    seconds: float | None = None
    size_bytes: int | None = None
    detail: str = ""  # the traceback of an unexpected converter/runtime error

    def row(self) -> dict:
        status = self.status if not self.reason else f"{self.status}: {self.reason}"
        if self.status == "ok" and self.parity is not None and self.parity.skipped:
            status = f"ok, numeric check skipped: {self.parity.skipped}"
        label = f"{self.backend} {self.precision}" if len(precisions(self.backend)) > 1 else self.backend
        return {"backend": label, "artifact": self.artifact.name if self.artifact else None,
                "size_mb": self.size_bytes / 1e6 if self.size_bytes else None, "seconds": self.seconds,
                "parity": self.parity, "status": status}


def check_size(config: K3DNConfig, size: tuple[int, int]) -> None:
    """Artifacts take padded inputs: H and W multiples of the stride and at least min_size."""
    h, w = size
    s = config.stride
    if h % s or w % s or min(h, w) < config.min_size:
        raise ValueError(f"export size {h}x{w}: H and W must be multiples of {s} and >= {config.min_size} "
                         f"(e.g. {max(-(-h // s) * s, config.min_size)}x{max(-(-w // s) * s, config.min_size)}); "
                         "pad frames in the pipeline (k3dn.network.padding) before the artifact")


# --- one backend -----------------------------------------------------------------------------
def _backend(name: str):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose from {BACKENDS}")
    return importlib.import_module(f"k3dn.export.{TABLE[name].module}")


def precisions(name: str) -> tuple[str, ...]:
    """What `k3dn export` writes for a backend: its exporter's PRECISIONS (Vulkan: fp32 and fp16), else PRECISION."""
    mod = _backend(name)
    return tuple(getattr(mod, "PRECISIONS", (mod.PRECISION,)))


def sidecar_json(model: K3DN, size, weights_info, backend: str, precision: str, final: Path, artifact: Path, audit,
                 parity, seconds, memory: dict | None = None) -> dict:
    """The sidecar JSON of `final`, whose bytes are still at `artifact` (the temporary name). `memory`: the graph's
    liveness floor (export.memory.sidecar_memory); the ExecuTorch plan's own arena is added here."""
    memory = dict(memory or {})
    if backend == "executorch" and memory:
        memory["planned_arena_bytes"] = planned_pte_bytes(artifact)
    tensor = {"shape": [1, 3, *size], "dtype": "float32", "range": [0.0, 1.0], "layout": "NCHW, RGB"}
    return {
        "format": SIDECAR_FORMAT,
        "artifact": final.name,
        "sha256": path_sha256(artifact),
        "bytes": path_size(artifact),
        "backend": backend,
        "model": {"variant": model.config.name, "config": asdict(model.config)},
        "weights": weights_info,
        "input_size": list(size),
        "io": {"inputs": {n: tensor for n in INPUT_NAMES}, "outputs": {OUTPUT_NAME: tensor},
               "padding": f"inputs are already padded to multiples of {model.config.stride} "
                          "(k3dn.network.padding.pad_to_stride, reflect) and the output is cropped after"},
        "precision": precision,
        **({"memory": memory} if memory else {}),
        "audit": audit.to_dict(),
        # ExecuTorch programs: delegate calls and the kernel calls left outside the delegate (typed on read)
        "delegation": audit.details.get("delegation"),
        "parity": parity.to_dict(),
        "toolchain": toolchain_versions(),
        "export_revision": EXPORT_REVISION,
        "export_seconds": round(seconds, 2),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def export_backend(
    name: str,
    model: K3DN,
    size: tuple[int, int],
    out_dir: str | Path,
    weights_info: dict | None = None,
    lowered: LoweredK3DN | None = None,
    precision: str | None = None,
    memory: dict | None = None,
) -> Outcome:
    """Export, audit and parity-check one backend; the artifact and its sidecar JSON land in `out_dir`
    only if all passed. `lowered` defaults to `lower(model)`; `model` is the float reference. `precision`: one of
    the exporter's `precisions(name)` (default its PRECISION). `memory`: the graph's liveness floor at `size`
    (export.memory.sidecar_memory), computed here when not given."""
    mod = _backend(name)
    choices = precisions(name)
    precision = precision or mod.PRECISION
    if precision not in choices:
        raise ValueError(f"{name} exports {', '.join(choices)}, not {precision!r}")
    missing = missing_modules(mod.REQUIRES)
    if missing:
        return Outcome(name, "skipped", f"{', '.join(missing)} not installed (pip install -e '.[export]')",
                       precision=precision)
    check_size(model.config, size)
    out_dir = Path(out_dir)
    final = out_dir / artifact_name(model.config.name, size, precision, mod.SUFFIX)
    sidecar = final.with_name(final.name + ".json")
    # The artifact and sidecar already there stay until the new pair passed its audit and parity check, then both
    # are replaced together (k3dn.files.commit): a failed, killed or interrupted export leaves the old ones working.
    pairs = parity_pairs(*size)
    example = tuple(torch.from_numpy(x) for x in pairs[0])
    tmp, tmp_sidecar = temp_path(final), temp_path(sidecar)
    start = time.perf_counter()
    parity: ParityResult | None = None
    try:
        lowered = lowered if lowered is not None else lower(model)
        kwargs = {"precision": precision} if len(choices) > 1 else {}
        getattr(mod, f"export_{TABLE[name].module}")(lowered, example, tmp, **kwargs)
        seconds = time.perf_counter() - start
        audit = getattr(mod, f"audit_{TABLE[name].module}")(tmp).check()
        budget = FP16_BUDGET if precision == "fp16" else FP32_BUDGET
        inputs = f"{len(pairs)} synthetic DP pairs {size[0]}x{size[1]} (export.parity seeds {list(PARITY_SEEDS)})"
        try:
            # no sidecar yet (it is written from these bytes), so the backend is named
            with open_runner(tmp, verify=False, backend=name) as runner:
                parity = check_parity(runner, TorchRunner(model), pairs, budget, name, inputs=inputs)
        except RuntimeUnavailable as exc:
            parity = ParityResult(name, name, None, None, budget, None, skipped=str(exc), inputs=inputs)
        if parity.passed is False:
            raise ParityError(f"{name}: max|diff| {parity.max_abs:.2e}, PSNR {parity.psnr:.1f} dB, "
                              f"budget {budget.describe()}")
        memory = memory if memory is not None else sidecar_memory(lowered, example)
        write_json_atomic(tmp_sidecar, sidecar_json(model, size, weights_info or {}, name, precision, final, tmp,
                                                    audit, parity, seconds, memory))
        files.commit([(tmp_sidecar, sidecar), (tmp, final)])
        return Outcome(name, "ok", precision=precision, artifact=final, sidecar=sidecar, parity=parity, audit=audit,
                       seconds=seconds, size_bytes=path_size(final))
    except (ExportError, ParityError) as exc:
        return Outcome(name, "failed", str(exc), precision=precision, seconds=time.perf_counter() - start,
                       parity=parity)
    except Exception as exc:  # noqa: BLE001 - a converter crash fails this backend, not the others
        first = str(exc).splitlines()[0] if str(exc) else ""
        return Outcome(name, "failed", f"{type(exc).__name__}: {first}", precision=precision,
                       seconds=time.perf_counter() - start, parity=parity, detail=traceback.format_exc())
    finally:
        remove_path(tmp)
        remove_path(tmp_sidecar)


def export_backends(
    names: Sequence[str],
    model: K3DN,
    size: tuple[int, int],
    out_dir: str | Path,
    weights_info: dict | None = None,
    progress: Callable[[str], None] = print,
) -> list[Outcome]:
    """`export_backend` for each name and each precision it exports (one lowering shared by all), reporting
    progress per artifact."""
    check_size(model.config, size)
    lowered = lower(model)
    example = torch.zeros(1, 3, *size)
    memory = sidecar_memory(lowered, (example, example))  # one graph for every backend: traced once
    jobs = [(name, precision) for name in names for precision in precisions(name)]
    outcomes = []
    for i, (name, precision) in enumerate(jobs, 1):
        tag = f"[{i}/{len(jobs)}] {name}{f' {precision}' if len(precisions(name)) > 1 else ''}"
        progress(f"{tag}: exporting {size[0]}x{size[1]} ...")
        outcome = export_backend(name, model, size, out_dir, weights_info, lowered=lowered, precision=precision,
                                 memory=memory)
        outcomes.append(outcome)
        p = outcome.parity
        if outcome.status == "ok":
            check = f"parity skipped ({p.skipped})" if p.skipped else (
                f"parity max|diff| {p.max_abs:.1e}, PSNR {p.psnr:.1f} dB")
            progress(f"{tag}: ok in {outcome.seconds:.0f} s, {outcome.artifact.name} "
                     f"({outcome.size_bytes / 1e6:.1f} MB), {check}")
        else:
            progress(f"{tag}: {outcome.status}: {outcome.reason}")
    return outcomes

