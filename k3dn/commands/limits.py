"""Upper limits and output checks every command applies to its flags before any work.

A size that cannot fit in memory fails in one line at once, not after minutes of allocation: `synth` had its own
limit; `export`, `eval` and `bench` share these.
"""

from __future__ import annotations

from pathlib import Path

from .. import files
from ..errors import UserError

# Largest artifact / evaluation / benchmark side: the camera pipeline tiles at <= 1088 px, the benchmark table
# stops at 1120 x 1680, and a 4096 x 4096 export already needs ~40 GB in the converters.
MAX_SIDE = 4096
MAX_PAIRS = 100_000


def check_size(size: tuple[int, int], flag: str = "--size", max_side: int = MAX_SIDE) -> tuple[int, int]:
    """UserError unless both sides are within 1..max_side."""
    h, w = size
    if not (1 <= h <= max_side and 1 <= w <= max_side):
        raise UserError(f"{flag} {h}x{w}: each side must be between 1 and {max_side} pixels")
    return size


def check_count(n: int, flag: str = "--n", limit: int = MAX_PAIRS) -> int:
    """UserError unless 1 <= n <= limit."""
    if not 1 <= n <= limit:
        raise UserError(f"{flag} must be between 1 and {limit}, got {n}")
    return n


def check_max_radius(value: float, flag: str = "--max-radius") -> float:
    """UserError unless 0 < value <= data.generate.RADIUS_LIMIT (the largest blur radius the simulator draws)."""
    from ..data.generate import RADIUS_LIMIT

    if not 0 < value <= RADIUS_LIMIT:
        raise UserError(f"{flag} must be in (0, {RADIUS_LIMIT:g}], got {value}")
    return value


def output_file(path: str | Path, flag: str) -> Path:
    """An output file's folder exists and is writable and the path is not a folder; UserError otherwise."""
    try:
        return files.check_writable_file(path, flag)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def output_dir(path: str | Path, flag: str = "--out", create: bool = True) -> Path:
    """An output folder is (or, with `create`, becomes) a writable folder; UserError otherwise."""
    try:
        return files.check_writable_dir(path, flag, create=create)
    except ValueError as exc:
        raise UserError(str(exc)) from None
