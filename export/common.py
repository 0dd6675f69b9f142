"""What every backend shares: artifact names, atomic writes, toolchain checks, graph audits."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from k3dn import files
from k3dn.backends import EXPORT_BACKENDS
from k3dn.camera.runners import INPUT_NAMES, OUTPUT_NAME, path_sha256  # noqa: F401 - the I/O contract lives with the runners
from k3dn.network.model import K3DN

from .lower import LoweredK3DN, lower

BACKENDS = EXPORT_BACKENDS  # the names, in export order (k3dn.backends holds the table)

# Bumped whenever an export writes a different graph or program layout for the same weights and toolchain (the
# artifact cache, k3dn/artifacts.py, re-exports any artifact whose sidecar names another revision). 2: XNNPACK arena
# value order (export/xnnpack_arena.py) and delegable .tflite concatenations (export/tflite_delegable.py). 3: int8
# LeakyReLU in ExecuTorch's XNNPACK delegate (export.executorch.xnnpack_partitioner).
EXPORT_REVISION = 3

# Distributions whose versions go into every sidecar (importlib.metadata names).
TOOLCHAIN_DISTS = (
    "torch", "numpy", "executorch", "coremltools", "onnx", "onnxscript", "onnxruntime", "onnxsim", "onnxslim",
    "ai-edge-litert", "litert-torch",
)


class ToolchainMissing(RuntimeError):
    """A backend's toolchain is not installed: the backend is skipped with this reason."""


class ExportError(RuntimeError):
    """A backend's conversion or its graph audit failed."""


def missing_modules(modules: Iterable[str]) -> list[str]:
    """The importable module names in `modules` that are not installed here."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def require(backend: str, modules: Iterable[str]) -> None:
    """Raise ToolchainMissing naming what to install if any of `modules` is missing."""
    missing = missing_modules(modules)
    if missing:
        raise ToolchainMissing(f"{backend}: {', '.join(missing)} not installed (pip install -e '.[export]')")


def toolchain_versions() -> dict[str, str]:
    """Versions of Python, the platform and every export toolchain distribution ('-' if absent)."""
    versions = {"python": platform.python_version(), "platform": f"{platform.system()}-{platform.machine()}"}
    for dist in TOOLCHAIN_DISTS:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "-"
    return versions


def parse_size(text: str) -> tuple[int, int]:
    """'128x96' -> (128, 96). Raises ValueError on anything else."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise ValueError(f"size must be HxW, e.g. 128x128, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def artifact_name(variant: str, size: tuple[int, int], precision: str, suffix: str) -> str:
    """k3dn_<variant>_<H>x<W>_<precision>.<suffix>"""
    return f"k3dn_{variant}_{size[0]}x{size[1]}_{precision}.{suffix}"


def as_lowered(model: torch.nn.Module) -> torch.nn.Module:
    """Exporters take either a K3DN (lowered here) or an already lowered module."""
    if isinstance(model, K3DN):
        return lower(model)
    if not isinstance(model, LoweredK3DN):
        raise TypeError(f"expected a k3dn.K3DN or a LoweredK3DN, got {type(model).__name__}")
    return model.eval()


def example_args(example_inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """Dense float32 copies with standard strides (ExecuTorch rejects the 0 strides numpy gives size-1 dims)."""
    return tuple(t.detach().float().clone(memory_format=torch.contiguous_format) for t in example_inputs)


# --- atomic writes: the one helper every command uses (k3dn.files) ----------------------------
def temp_path(final: Path) -> Path:
    """A fresh, not-yet-existing hidden path next to `final` (same filesystem, so rename is atomic), tagged with
    this process's pid so that one a killed export left behind is removed by the next (k3dn.files.clean_stale)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    files.clean_stale(final)
    return files.temp_path(final)


def remove_path(path: Path) -> None:
    """Delete a file or a directory tree if it exists."""
    files.remove_path(path)


def commit_path(tmp: Path, final: Path) -> Path:
    """Move a finished file or directory (.mlpackage) at `tmp` onto `final` atomically (k3dn.files.commit)."""
    files.commit([(tmp, final)])
    return final


def write_json_atomic(path: Path, obj: object) -> Path:
    return files.write_json(path, obj)


def path_size(path: Path) -> int:
    """Bytes on disk of a file or a directory's files."""
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- graph audits -----------------------------------------------------------------------------
# Work that lowering moved to export time: none of it may appear in an exported graph.
_FORBIDDEN_SUBSTRINGS = ("fft", "dft", "complex", "polar", "reciprocal", "inverse", "linalg", "matrix_exp")
_FORBIDDEN_NAMES = {"real", "imag", "inv", "det", "view_as_real", "view_as_complex", "rcp"}


def forbidden_ops(op_names: Iterable[str]) -> list[str]:
    """The op names that are FFT, complex, matrix-inverse or reciprocal ops, in any backend's spelling
    (aten::fft_ifft2, ONNX DFT/Reciprocal, TFLite RFFT2D/COMPLEX_ABS, MIL inverse/complex_*)."""
    bad = []
    for name in sorted(set(op_names)):
        low = name.lower()
        parts = set(re.split(r"::|\.", low))
        if any(s in low for s in _FORBIDDEN_SUBSTRINGS) or parts & _FORBIDDEN_NAMES:
            bad.append(name)
    return bad


@dataclass
class GraphAudit:
    """What an exported artifact contains, read back from the artifact itself.

    op_counts: compute ops by name; non_delegated: ops that run outside the accelerator delegate
    (ExecuTorch only; empty elsewhere); problems: why the artifact breaks the export contract.
    """

    backend: str
    op_counts: dict[str, int]
    non_delegated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = forbidden_ops(self.op_counts)
        if bad:
            self.problems.append(f"FFT/complex/inverse/reciprocal ops left in the graph: {bad}")

    def check(self) -> GraphAudit:
        """Raise ExportError listing the problems, if any; return self otherwise."""
        if self.problems:
            raise ExportError(f"{self.backend} graph audit failed: " + "; ".join(self.problems))
        return self

    def to_dict(self) -> dict:
        return asdict(self)
