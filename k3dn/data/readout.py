"""Green-only dual-pixel readout: the form phone DP captures come in.

Phone sensors with dual pixels (Google Pixel) expose the left/right photodiode values of the green sites
only. The public phone DP captures are that green plane stored as grey: the shared `pixel_NN` pairs have
three identical channels (mean |L - R| is equal in B, G and R), while the Canon pairs carry disparity in
every channel. A network trained on colour pairs alone has never seen that input.

`green_only` turns a simulated or real item into that form: the green channel of each view, of the
ground truth and of any other image in the item, replicated to three channels. The training stream
applies it to a stated share of its pairs (TrainDataset's `green_prob`) and `k3dn eval --readout green`
scores a set in that form.
"""

from __future__ import annotations

import numpy as np

# datasets.IMAGE_KEYS plus a real-dp item's DPDNet output (not imported from there: datasets imports this module)
IMAGE_KEYS = ("left", "right", "sharp", "blurry", "dpdnet")


def green_plane(image: np.ndarray) -> np.ndarray:
    """H x W x 3 image -> its green channel replicated to H x W x 3 (float32)."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {image.shape}")
    return np.repeat(image[..., 1:2], 3, axis=2).astype(np.float32)


def green_only(item: dict) -> dict:
    """A copy of `item` whose images (left, right, sharp, blurry, dpdnet where present) are green-only."""
    return item | {k: green_plane(np.asarray(item[k])) for k in IMAGE_KEYS if k in item}
