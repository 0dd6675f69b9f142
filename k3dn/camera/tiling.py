"""Tile grid and feathered blending for running a fixed-size model over a frame of any size.

The grid and the weights are specified exactly (the Android demo's Java core reimplements them and is
tested against golden vectors written from this module):

- `tile_starts(size, tile, overlap)`: one tile if size <= tile, else origins every `tile - overlap` pixels
  with the last tile flush with the frame's end (so the last overlap may be larger than `overlap`).
- `blend_ramp`: a raised-cosine ramp r[i] = 0.5 - 0.5 cos(pi (i + 0.5) / overlap), i < overlap, at each
  edge of a tile that has a neighbour; 1 elsewhere. A tile's weight is the outer product of its row and
  column ramps; the frame is sum(w * tile) / sum(w). The ramps never reach 0, so every pixel has weight.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class Tile(NamedTuple):
    """One tile of the grid: origin (y, x) and size (h, w) in frame pixels."""

    y: int
    x: int
    h: int
    w: int


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one axis: step tile - overlap, the last tile flush with the end."""
    if tile <= 0 or not 0 <= overlap < tile:
        raise ValueError(f"need tile > 0 and 0 <= overlap < tile, got tile={tile}, overlap={overlap}")
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, tile - overlap))
    starts.append(size - tile)
    return starts


def tile_grid(height: int, width: int, tile_h: int, tile_w: int, overlap: int) -> list[Tile]:
    """The tiles covering a height x width frame, row-major (y outer). Tiles are at most tile_h x tile_w."""
    th, tw = min(tile_h, height), min(tile_w, width)
    ys, xs = tile_starts(height, tile_h, overlap), tile_starts(width, tile_w, overlap)
    return [Tile(y, x, th, tw) for y in ys for x in xs]


def fit_tile(height: int, width: int, overlap: int, max_tile: int = 1280, min_tile: int = 256,
             stride: int = 16) -> int:
    """The square tile side (a multiple of `stride` in [min_tile, max_tile]) whose grid over a height x width
    frame computes the fewest pixels (tiles x tile area); ties go to the smaller tile (less memory).

    Overlap makes a fixed-size model compute some pixels twice (`overlap_factor`): with 64 px of overlap, 512-px
    tiles compute a 4000 x 3000 frame 1.53 times over (70 tiles), 1056-px tiles 1.12 times (12 tiles).
    """
    frame = max(height, width)
    low = max(min(min_tile, frame + (-frame) % stride), 2 * overlap + stride)
    low += (-low) % stride
    if low > max_tile:
        raise ValueError(f"no tile between {min_tile} and {max_tile} px fits an overlap of {overlap} px")

    def work(side: int) -> int:
        return len(tile_grid(height, width, side, side, overlap)) * side * side  # a fixed model runs whole tiles

    return min(range(low, max_tile + 1, stride), key=lambda side: (work(side), side))


def overlap_factor(height: int, width: int, tile_h: int, tile_w: int, overlap: int,
                   padded: tuple[int, int] | None = None) -> float:
    """Pixels a fixed tile_h x tile_w model computes for a height x width frame, over the frame's pixels (1.0: no
    waste). `padded`: the (H, W) the grid covers when the pipeline pads the frame (to the stride, or to one tile)."""
    hp, wp = padded or (height, width)
    return len(tile_grid(hp, wp, tile_h, tile_w, overlap)) * min(tile_h, hp) * min(tile_w, wp) / (height * width)


def seam_mask(tiles: list[Tile], height: int, width: int) -> np.ndarray:
    """height x width bool: the pixels more than one of `tiles` covers (where tiling can differ from the whole)."""
    cover = np.zeros((height, width), dtype=np.int32)
    for t in tiles:
        cover[t.y:t.y + t.h, t.x:t.x + t.w] += 1
    return cover > 1


def blend_ramp(length: int, overlap: int, ramp_start: bool, ramp_end: bool) -> np.ndarray:
    """1-D weight of one tile axis: raised-cosine ramps over `overlap` pixels at edges with a neighbour."""
    w = np.ones(length, dtype=np.float32)
    if overlap <= 0:
        return w
    overlap = min(overlap, length)
    ramp = np.array([0.5 - 0.5 * math.cos(math.pi * (i + 0.5) / overlap) for i in range(overlap)], dtype=np.float32)
    if ramp_start:
        w[:overlap] = ramp
    if ramp_end:
        w[-overlap:] = np.minimum(w[-overlap:], ramp[::-1])
    return w


def tile_weight(tile: Tile, height: int, width: int, overlap: int) -> np.ndarray:
    """tile.h x tile.w float32 blending weight of `tile` in a height x width frame."""
    wy = blend_ramp(tile.h, overlap, tile.y > 0, tile.y + tile.h < height)
    wx = blend_ramp(tile.w, overlap, tile.x > 0, tile.x + tile.w < width)
    return wy[:, None] * wx[None, :]
