"""Shared pieces of the fault-injection suite (tests/faults/): run a command, assert how it failed.

Every case asserts the CLI's promise for bad input: exit 2, exactly one `k3dn CMD: error: ...` line naming the
problem, no traceback, no output file written, no file it was given changed, no temporary file left behind.
Bombs (inputs built to exhaust memory or time) run in a subprocess under RLIMIT_AS and a timeout, so a regression
fails the test instead of the machine.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import SMALL_OVERRIDES

import k3dn
from k3dn.cli import main

PYTHON = sys.executable


def snapshot(*paths: Path) -> dict[Path, str | None]:
    """sha256 of each path's bytes (None if absent): what must not change."""
    out = {}
    for p in paths:
        out[p] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return out


def temps(folder: Path) -> list[Path]:
    """Temporary files the write path leaves behind if it fails to clean up."""
    return [p for p in folder.rglob("*") if ".k3dn-" in p.name and ".tmp" in p.name]


def fails(capsys, argv: list[str], message: str, *, absent: tuple[Path, ...] = (), unchanged: tuple[Path, ...] = (),
          folder: Path | None = None) -> str:
    """Run `k3dn argv` in-process and assert it failed as promised; return its error line."""
    before = snapshot(*unchanged)
    rc = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert rc == 2, f"exit {rc}, stderr: {captured.err}"
    assert len(lines) == 1, f"expected one error line, got: {captured.err}"
    assert lines[0].startswith(f"k3dn {argv[0]}: error: "), lines[0]
    assert message in lines[0], f"{message!r} not in {lines[0]!r}"
    assert "Traceback" not in captured.err + captured.out
    for p in absent:
        assert not p.exists(), f"{p} was written"
    assert snapshot(*unchanged) == before, "an input or an older output was changed"
    if folder is not None:
        assert not temps(folder), f"temporary files left: {temps(folder)}"
    return lines[0]


def write_png(path: Path, samples: np.ndarray) -> str:
    """Samples (RGB or grey) as PNG at `path`; returns str(path)."""
    data = cv2.cvtColor(samples, cv2.COLOR_RGB2BGR) if samples.ndim == 3 and samples.shape[2] == 3 else samples
    assert cv2.imwrite(str(path), data)
    return str(path)


def pair(folder: Path, size: tuple[int, int] = (48, 64), dtype=np.uint8, seed: int = 0) -> tuple[str, str]:
    """A small random DP pair written as PNGs into `folder`."""
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    left = rng.integers(0, top, (*size, 3), dtype=dtype)
    right = rng.integers(0, top, (*size, 3), dtype=dtype)
    return write_png(folder / "l.png", left), write_png(folder / "r.png", right)


def small_weights(path: Path, seed: int = 0) -> str:
    """A small K3DN's weights at `path` (the CLI tests' model: same modules, fewer channels)."""
    torch.manual_seed(seed)
    return str(k3dn.save_weights(k3dn.create("tiny", **SMALL_OVERRIDES), path))


def run_limited(code: str, *, mem_gb: float = 3.0, timeout: float = 120.0, cwd: Path | None = None):
    """Run Python `code` in a subprocess with its address space capped at `mem_gb` and a wall-clock timeout."""
    limit = int(mem_gb * (1 << 30))

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ, PYTHONWARNINGS="ignore")
    try:
        return subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=timeout,
                              preexec_fn=cap, cwd=cwd, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not finish within {timeout} s (a bomb was decoded or built?)")


def tiff_bomb(path: Path, width: int = 14500, height: int = 14500) -> Path:
    """A small 16-bit TIFF whose directory (written by OpenCV after the image data, far beyond the first 64 KiB
    of a real photo's file) claims `width` x `height`: a 1.26 GB decode at the default size."""
    assert cv2.imwrite(str(path), np.zeros((300, 300), np.uint16))
    data = bytearray(path.read_bytes())
    order = "<" if data[:2] == b"II" else ">"
    ifd = int.from_bytes(data[4:8], "little" if order == "<" else "big")
    assert ifd > 1000, "OpenCV wrote the directory after the data"
    count = int.from_bytes(data[ifd:ifd + 2], "little" if order == "<" else "big")
    for k in range(count):
        entry = ifd + 2 + 12 * k
        tag = int.from_bytes(data[entry:entry + 2], "little" if order == "<" else "big")
        typ = int.from_bytes(data[entry + 2:entry + 4], "little" if order == "<" else "big")
        if tag in (256, 257):
            value = width if tag == 256 else height
            size = 2 if typ == 3 else 4
            data[entry + 8:entry + 8 + size] = value.to_bytes(size, "little" if order == "<" else "big")
    path.write_bytes(bytes(data))
    return path


def jpeg_bomb(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A ~1 KB JPEG whose frame header claims `width` x `height` (7.9 GB decoded), under any name."""
    ok, enc = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    data = bytearray(enc.tobytes())
    i = 2
    while i < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 7] = height.to_bytes(2, "big")
            data[i + 7:i + 9] = width.to_bytes(2, "big")
            break
        i += 2 + length
    path.write_bytes(bytes(data))
    return path
