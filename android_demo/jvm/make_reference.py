"""Reference outputs of the Python camera pipeline on a real exported `.pte`, for the JVM parity test.

    python android_demo/jvm/make_reference.py --pte k3dn_tiny_64x64_fp32.pte --out DIR

Runs `k3dn.camera.Deblurrer(open_runner(pte))` on crops of the bundled real DP pair (docs/real_dp/pixel_00_*)
and writes inputs and outputs in the golden-vector format of `android_demo/make_golden.py` (index.properties +
little-endian .bin), which `ExecuTorchParityTest` reads. Written at test time, never checked in: the outputs
depend on the exported artifact.

Cases: `tile` (one model call on a tile of the pair), `frame_u8` (a uint8 frame of several tiles, its size not
a multiple of the stride), `frame_f32` (a float32 frame shorter than one tile: reflect padding).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from k3dn.camera import Deblurrer
from k3dn.camera.runners import open_runner

HERE = Path(__file__).resolve().parent
PAIR = HERE.parents[1] / "docs" / "real_dp" / "pixel_00_{}.png"
OVERLAP = 16


def load_pair() -> tuple[np.ndarray, np.ndarray]:
    """The bundled real DP pair (320 x 320 x 3 uint8 each)."""
    from PIL import Image

    return tuple(np.asarray(Image.open(str(PAIR).format(side)).convert("RGB")) for side in ("left", "right"))


def build(pte: Path):
    sys.path.insert(0, str(HERE.parent))
    from make_golden import GoldenWriter

    left, right = load_pair()
    runner = open_runner(pte)
    th, tw = runner.tile_size
    g = GoldenWriter()
    g.prop("pte", pte.name)
    g.prop("overlap", OVERLAP)
    g.prop("tile", (th, tw))

    tl, tr = (np.ascontiguousarray((v[:th, :tw].astype(np.float32) / 255).transpose(2, 0, 1)) for v in (left, right))
    g.array("tile_left", tl)
    g.array("tile_right", tr)
    g.array("tile_out", runner(tl[None], tr[None])[0])

    deblurrer = Deblurrer(runner, overlap=OVERLAP)
    h, w = 2 * th - 8, 2 * tw + 22  # several tiles, neither side a multiple of the stride
    fl, fr = left[40:40 + h, 30:30 + w], right[40:40 + h, 30:30 + w]
    g.array("frame_u8_left", fl)
    g.array("frame_u8_right", fr)
    g.array("frame_u8_out", deblurrer(fl, fr))
    g.prop("frame_u8.args", (h, w))
    g.prop("frame_u8.tiles", len(deblurrer.tiles(h, w)))

    h, w = th - 20, 2 * tw  # shorter than one tile
    fl, fr = (v[100:100 + h, 5:5 + w].astype(np.float32) / 255 for v in (left, right))
    g.array("frame_f32_left", fl)
    g.array("frame_f32_right", fr)
    g.array("frame_f32_out", deblurrer(fl, fr))
    g.prop("frame_f32.args", (h, w))
    runner.close()
    return g


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pte", type=Path, required=True, help="exported ExecuTorch artifact")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args()
    files = build(args.pte).write(args.out, source=f"android_demo/jvm/make_reference.py from {args.pte.name}")
    print(f"wrote {len(files)} reference files for {args.pte.name} to {args.out}")


if __name__ == "__main__":
    main()
