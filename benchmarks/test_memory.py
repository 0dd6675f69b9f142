"""Peak RSS per megapixel of one inference against the graph's liveness floor, per artifact kind (issue 31).

Each artifact's sidecar records `memory.liveness_floor_bytes`: the least memory the exported graph's activations
need in program order (k3dn.export.memory). A runtime adds fixed costs (Python, its libraries, packed weights) and
costs that grow with the frame (its activation arena, per-operator buffers, copies at the runner boundary). The
fixed part cancels in the slope between two sizes of the same artifact kind, each run in a fresh process
(benchmarks/memory_probe.py):

    factor = (peak RSS at 512x512 - peak RSS at 256x256) / (floor at 512x512 - floor at 256x256)

and each kind must stay within `FACTOR` of the floor. At 1024x1024 before issue 31, ExecuTorch's inference added
2970 MB to the loaded process, 7.3x the 408 MB floor (per-convolution indirection buffers, 81 SRP window slices
alive at once); after the indirection and slice fixes, 1036 MB, 2.5x; with XNNPACK's arena packed by value order
(export/xnnpack_arena.py), 512 MB, 1.2x. `slow` adds the whole-process target at 1024x1024 (<= 1.0 GB for ExecuTorch
and LiteRT fp32; docs/benchmarks.md has the numbers).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from k3dn.backends import BACKENDS

PROBE = Path(__file__).with_name("memory_probe.py")
SIZES = (256, 512)
# Stated factors (peak RSS growth per floor growth). Measured 2026-12-07 on 2 busy x86 cores: ExecuTorch 2.61.
# LiteRT and ONNX Runtime had not finished this test by then; their factors are estimates: LiteRT's 1024x1024 run
# grew 879 MB over the 222 MB base with a 428 MB floor (~2x), ONNX Runtime's bench row, 3.0 GB at 1120x1680,
# suggests ~3.5x.
FACTOR = {"executorch": 3.0, "tflite": 3.0, "onnx": 4.0}
TARGET_1MP_MB = 1e9 / 2**20  # 1.0 GB, in the MiB the probe reports


def probe(artifact: Path) -> dict:
    out = subprocess.run([sys.executable, str(PROBE), str(artifact), "--threads", "2"], capture_output=True,
                         text=True, timeout=900, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def floor_bytes(artifact: Path) -> int:
    meta = json.loads(Path(str(artifact) + ".json").read_text())
    return meta["memory"]["liveness_floor_bytes"]


def artifact(backend: str, size: int, cache: Path) -> Path:
    if importlib.util.find_spec(BACKENDS[backend].runtime_module) is None:
        pytest.skip(f"{backend}: {BACKENDS[backend].runtime_module} not installed")
    from k3dn.artifacts import cached_artifact

    return cached_artifact(backend, "fp32", (size, size), cache_dir=cache, progress=lambda m: None)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("memory")


@pytest.mark.parametrize("backend", sorted(FACTOR))
def test_peak_rss_per_megapixel_within_a_factor_of_the_floor(backend, cache) -> None:
    small, large = (artifact(backend, s, cache) for s in SIZES)
    grow_mb = probe(large)["peak_mb"] - probe(small)["peak_mb"]
    floor_mb = (floor_bytes(large) - floor_bytes(small)) / 2**20
    factor = grow_mb / floor_mb
    print(f"{backend}: peak RSS grows {grow_mb:.0f} MB from {SIZES[0]}^2 to {SIZES[1]}^2, floor {floor_mb:.0f} MB: "
          f"{factor:.2f}x")
    assert factor <= FACTOR[backend], f"{backend}: {factor:.2f}x the liveness floor (allowed {FACTOR[backend]})"


@pytest.mark.slow  # exports two 1024x1024 artifacts (minutes)
@pytest.mark.parametrize("backend", ["executorch", "tflite"])
def test_one_megapixel_inference_within_one_gigabyte(backend, cache) -> None:
    peak = probe(artifact(backend, 1024, cache))["peak_mb"]
    print(f"{backend} fp32 1024x1024: peak RSS {peak:.0f} MB (whole process)")
    assert peak <= TARGET_1MP_MB
