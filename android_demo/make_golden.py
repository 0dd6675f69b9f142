"""Write the golden vectors the Android demo's Java core is tested against, from `k3dn.camera`.

    python android_demo/make_golden.py            # rewrites android_demo/core/src/test/resources/golden/

Everything is deterministic (fixed seeds, no model), so `tests/test_android_golden.py` regenerates the
vectors into a temp dir and fails if the checked-in ones differ: Java and Python cannot drift.

Format (read by `GoldenVectors.java`): `index.properties` holds case parameters and, for every array,
`<name>.dtype` (f32, i32, u16 or u8) and `<name>.shape` (comma-separated); `<name>.bin` holds the array,
row-major, little-endian.

The "fake tile runner" stands in for the network in the tiled reconstructions: the k-th call (tiles run in
row-major order) returns 0.5 (L + R) + 0.01 (k + 1), in float32. The constant differs per tile, so wrong
blending weights, tile order or padding change the result; the same function is in `DeblurrerGoldenTest`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from k3dn.camera import Deblurrer
from k3dn.camera.levels import from_unit, to_unit
from k3dn.camera.raw import deinterleave_columns, split_combined
from k3dn.camera.runners import Runner
from k3dn.camera.tiling import blend_ramp, tile_grid, tile_starts, tile_weight

GOLDEN_DIR = Path(__file__).resolve().parent / "core" / "src" / "test" / "resources" / "golden"
SEED = 21

TILE_STARTS_CASES = [(10, 32, 8), (32, 32, 8), (33, 32, 8), (100, 32, 8), (512, 128, 0), (1000, 512, 96),
                     (4000, 512, 96), (97, 48, 23)]
TILE_GRID_CASES = [(40, 72, 32, 32, 10), (36, 80, 48, 48, 10), (64, 64, 64, 64, 0), (3000, 4000, 512, 512, 96)]
RAMP_CASES = [(32, 10, False, False), (32, 10, True, False), (32, 10, False, True), (32, 10, True, True),
              (48, 23, True, True), (20, 12, True, True), (8, 20, True, True), (512, 96, True, True),
              (16, 0, True, True), (7, 3, True, False)]
# (name, dtype, height, width, tile, overlap, black, white): fake-runner reconstructions through Deblurrer
# (name, dtype, height, width, tile, overlap, black, white): fake-runner reconstructions through Deblurrer.
# Tiles and overlaps are multiples of the network stride (16); frame sizes are not, so edge tiles are padded.
DEBLUR_CASES = [("deblur_f32", np.float32, 50, 70, 48, 16, None, None),
                ("deblur_u16", np.uint16, 64, 90, 48, 16, (512, 600, 550), 16383),
                ("deblur_u8_padded", np.uint8, 36, 100, 64, 16, None, None),
                ("deblur_u8_no_overlap", np.uint8, 40, 50, 32, 0, (10, 20, 30), (240, 250, 255))]


class FakeTileRunner(Runner):
    """A fixed-size stand-in for the network: the k-th call returns 0.5 (L + R) + 0.01 (k + 1)."""

    def __init__(self, tile: int) -> None:
        super().__init__()
        self.name, self.input_shape, self.calls = "fake", (1, 3, tile, tile), 0

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        k, self.calls = self.calls, self.calls + 1
        return np.float32(0.5) * (left + right) + np.float32(0.01 * (k + 1))


class GoldenWriter:
    """Collects arrays and parameters, then writes them as `<name>.bin` files plus `index.properties`."""

    CODES = {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32", np.dtype(np.uint16): "u16",
             np.dtype(np.uint8): "u8"}

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.props: dict[str, str] = {}

    def array(self, name: str, value: np.ndarray) -> None:
        value = np.ascontiguousarray(value)
        if value.dtype not in self.CODES:
            raise TypeError(f"{name}: unsupported dtype {value.dtype}")
        self.arrays[name] = value
        self.props[f"{name}.dtype"] = self.CODES[value.dtype]
        self.props[f"{name}.shape"] = ",".join(str(n) for n in value.shape)

    def prop(self, key: str, value: object) -> None:
        self.props[key] = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)

    def write(self, out_dir: Path, source: str = "android_demo/make_golden.py from k3dn.camera") -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, value in sorted(self.arrays.items()):
            path = out_dir / f"{name}.bin"
            path.write_bytes(value.astype(value.dtype.newbyteorder("<"), copy=False).tobytes())
            written.append(path)
        index = out_dir / "index.properties"
        lines = [f"# Written by {source}; do not edit by hand."]
        lines += [f"{k}={v}" for k, v in sorted(self.props.items())]
        index.write_text("\n".join(lines) + "\n")
        return [*written, index]


def add_tiling(g: GoldenWriter) -> None:
    g.prop("tile_starts.count", len(TILE_STARTS_CASES))
    for i, (size, tile, overlap) in enumerate(TILE_STARTS_CASES):
        g.prop(f"tile_starts.{i}.args", (size, tile, overlap))
        g.prop(f"tile_starts.{i}.result", tile_starts(size, tile, overlap))
    g.prop("tile_grid.count", len(TILE_GRID_CASES))
    for i, args in enumerate(TILE_GRID_CASES):
        g.prop(f"tile_grid.{i}.args", args)
        g.array(f"tile_grid_{i}", np.array([list(t) for t in tile_grid(*args)], dtype=np.int32))
    g.prop("ramp.count", len(RAMP_CASES))
    for i, (length, overlap, start, end) in enumerate(RAMP_CASES):
        g.prop(f"ramp.{i}.args", (length, overlap, int(start), int(end)))
        g.array(f"ramp_{i}", blend_ramp(length, overlap, start, end))
    height, width, th, tw, overlap = TILE_GRID_CASES[0]
    g.array("tile_weights_0", np.stack([tile_weight(t, height, width, overlap)
                                        for t in tile_grid(height, width, th, tw, overlap)]))


def add_levels(g: GoldenWriter, rng: np.random.Generator) -> None:
    u8 = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    black8, white8 = (16, 0, 8), (235, 255, 250)
    g.array("levels_u8_in", u8)
    g.prop("levels_u8.black", black8)
    g.prop("levels_u8.white", white8)
    g.array("levels_u8_unit", to_unit(u8, black8, white8))
    u16 = rng.integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    g.array("levels_u16_in", u16)
    g.prop("levels_u16.black", (512, 512, 512))
    g.prop("levels_u16.white", (16383, 16383, 16383))
    g.array("levels_u16_unit", to_unit(u16, 512, 16383))
    y = rng.uniform(-0.2, 1.2, (6, 7, 3)).astype(np.float32)
    y[0, :3] = [[0.0, 0.5, 1.0], [1 / 255, 0.5 / 255, 1.5 / 255], [254.5 / 255, 0.25, 0.75]]  # rounding edges
    g.array("from_unit_y", y)
    g.array("from_unit_u8", from_unit(y, np.uint8, black8, white8))
    g.array("from_unit_u16", from_unit(y, np.uint16, 512, 16383))


def add_raw(g: GoldenWriter, rng: np.random.Generator) -> None:
    raw = rng.integers(0, 65536, (5, 12, 3), dtype=np.uint16)
    g.array("raw_interleaved", raw)
    for left_first in (True, False):
        left, right = deinterleave_columns(raw, left_first=left_first)
        g.array(f"raw_left_{'lf' if left_first else 'rf'}", left)
        g.array(f"raw_right_{'lf' if left_first else 'rf'}", right)
    combined = rng.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    sub = rng.integers(0, 65536, (5, 6, 3), dtype=np.uint16)  # sub > combined in places: right clips at 0 / max
    g.array("combined", combined)
    g.array("combined_sub", sub)
    g.prop("combined.black", 512)
    g.array("combined_right", split_combined(combined, sub, black=512)[1])


def add_deblur(g: GoldenWriter, rng: np.random.Generator) -> None:
    for name, dtype, height, width, tile, overlap, black, white in DEBLUR_CASES:
        if np.dtype(dtype).kind == "f":
            left, right = (rng.uniform(0.0, 1.0, (height, width, 3)).astype(np.float32) for _ in range(2))
        else:
            hi = np.iinfo(dtype).max if white is None else min(int(np.max(white)) + 600, np.iinfo(dtype).max)
            left, right = (rng.integers(0, hi + 1, (height, width, 3), dtype=dtype) for _ in range(2))
        runner = FakeTileRunner(tile)
        out = Deblurrer(runner, overlap=overlap)(left, right, black=black, white=white)
        g.array(f"{name}_left", left)
        g.array(f"{name}_right", right)
        g.array(f"{name}_out", out)
        g.prop(f"{name}.args", (height, width, tile, overlap))
        g.prop(f"{name}.tiles", runner.calls)
        if black is not None:
            g.prop(f"{name}.black", black)
            g.prop(f"{name}.white", white)


def build() -> GoldenWriter:
    """All golden vectors, in memory."""
    rng = np.random.default_rng(SEED)
    g = GoldenWriter()
    add_tiling(g)
    add_levels(g, rng)
    add_raw(g, rng)
    add_deblur(g, rng)
    return g


def write(out_dir: Path = GOLDEN_DIR) -> list[Path]:
    """Write every golden vector into `out_dir`; returns the files written."""
    return build().write(Path(out_dir))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GOLDEN_DIR, help="output folder (default: the checked-in one)")
    files = write(parser.parse_args().out)
    print(f"wrote {len(files)} files ({sum(p.stat().st_size for p in files) / 1024:.1f} KiB) to {files[0].parent}")


if __name__ == "__main__":
    main()
