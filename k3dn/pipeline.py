"""Camera-pipeline side of inference: any frame size, large frames in overlapping tiles.

Every runner - the eager model, or an exported artifact behind the same callable interface - is a
`Callable[[Tensor, Tensor], Tensor]` taking N x 3 x h x w float32 (left, right) in [0, 1] and returning
the sharp image of the same shape, so the eager model and each compiled artifact share this code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

Runner = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one axis: step tile - overlap, the last tile flush with the end."""
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step))
    starts.append(size - tile)
    return starts


def _ramp(length: int, overlap: int, ramp_start: bool, ramp_end: bool) -> np.ndarray:
    """1-D blending weight: linear ramps over `overlap` pixels at interior tile edges, 1 elsewhere."""
    w = np.ones(length, dtype=np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if ramp_start and overlap:
        w[:overlap] = np.minimum(w[:overlap], ramp)
    if ramp_end and overlap:
        w[-overlap:] = np.minimum(w[-overlap:], ramp[::-1])
    return w


@torch.no_grad()
def deblur_image(
    runner: Runner,
    left: np.ndarray,
    right: np.ndarray,
    tile: int = 512,
    overlap: int = 64,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """Deblur an H x W x 3 float32 DP pair in [0, 1] of any size; returns H x W x 3 float32 in [0, 1].

    Frames up to `tile` pixels on each side run in one call. Larger frames run in tile x tile windows
    with `overlap` pixels shared between neighbours and blended with linear ramps, so peak memory
    depends on `tile`, not on the frame size.
    """
    if left.shape != right.shape or left.ndim != 3 or left.shape[2] != 3:
        raise ValueError(f"left and right must both be H x W x 3, got {left.shape} and {right.shape}")
    if not 0 <= overlap < tile:
        raise ValueError(f"need 0 <= overlap < tile, got overlap={overlap}, tile={tile}")
    h, w, _ = left.shape

    def run(y0: int, x0: int, th: int, tw: int) -> np.ndarray:
        lt, rt = (torch.from_numpy(np.ascontiguousarray(v[y0:y0 + th, x0:x0 + tw])).permute(2, 0, 1)[None].to(device)
                  for v in (left, right))
        return runner(lt, rt)[0].permute(1, 2, 0).float().cpu().numpy()

    if h <= tile and w <= tile:
        return run(0, 0, h, w)
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    th, tw = min(tile, h), min(tile, w)
    acc = np.zeros((h, w, 3), dtype=np.float32)
    weight = np.zeros((h, w, 1), dtype=np.float32)
    with tqdm(total=len(ys) * len(xs), disable=not progress, desc="tiles", unit="tile") as bar:
        for iy, y0 in enumerate(ys):
            wy = _ramp(th, overlap, iy > 0, iy < len(ys) - 1)
            for ix, x0 in enumerate(xs):
                wx = _ramp(tw, overlap, ix > 0, ix < len(xs) - 1)
                wt = (wy[:, None] * wx[None, :])[..., None]
                acc[y0:y0 + th, x0:x0 + tw] += run(y0, x0, th, tw) * wt
                weight[y0:y0 + th, x0:x0 + tw] += wt
                bar.update(1)
    return np.clip(acc / weight, 0.0, 1.0)
