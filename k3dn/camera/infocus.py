"""Which tiles hold no defocus: a DP measure cheap enough to run on every tile before the network does.

In focus, a dual-pixel sensor's two half-aperture views agree; out of focus they differ by a signed disparity that
grows with the blur (DESIGN.md, "The model"). `defocus_score` is that difference, measured where it is largest in
the tile: the left-minus-right luma averaged over 4 x 4 blocks (which keeps the disparity signal, a few pixels
wide under defocus blur, and cuts sensor noise 4x), its magnitude, and the 99th percentile over the tile's blocks
(a tile with a small defocused object is not skipped). A tile scoring below a threshold passes the input's mean
view, (B_L + B_R) / 2, through instead of running the network; `Deblurrer` blends it with its neighbours like any
tile.

SKIP_THRESHOLD was chosen on simulated DP frames only (`python benchmarks/skip_in_focus.py --choose`: the largest
threshold that costs at most half the 0.05 dB budget there; 8 + 8 frames at seed 4321, 96 + 96 tiles of 256 px):
tiles skipped / dB lost, full blur range and mild: <= 0.012 none; 0.016 0/96, 3/96 at 0.021 dB; 0.024 1/96 at
0.016 dB, 35/96 at 1.76 dB. The chosen 0.016 sits one step below that cliff and skips almost nothing on these frames.
The real Canon scenes are only reported, never used to choose it (`python benchmarks/skip_in_focus.py`, 512-px
tiles): real Canon 0/28 tiles skipped, +-0 dB; mild slice 1/24 skipped at -0.29 dB, over the 0.05 dB budget. Hence
opt-in and not recommended (docs/camera.md).
"""

from __future__ import annotations

import numpy as np

BLOCK = 4
PERCENTILE = 99.0
SKIP_THRESHOLD = 0.016  # chosen on simulated frames, see the module docstring


def defocus_score(left: np.ndarray, right: np.ndarray) -> float:
    """The DP defocus measure of one tile: `left`, `right` are 1 x 3 x H x W (or 3 x H x W) float32 in [0, 1]."""
    diff = (left.reshape(3, *left.shape[-2:]) - right.reshape(3, *right.shape[-2:])).mean(axis=0)
    h, w = (s - s % BLOCK for s in diff.shape)
    if h == 0 or w == 0:
        return float(np.abs(diff).max(initial=0.0))
    blocks = diff[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3))
    return float(np.percentile(np.abs(blocks), PERCENTILE))
