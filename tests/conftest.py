"""Shared test constants and helpers (tests import them as `from conftest import ...`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from k3dn.io import write_image

# A K3DN small enough that CLI and training tests run in seconds (same modules, fewer channels).
SMALL_OVERRIDES = {"widths": (8, 8, 16), "feat_channels": 16, "num_kernels": 16, "enc_blocks": (1, 1, 1, 1),
                   "dec_blocks": (1, 1, 1), "disp_channels": 8, "disp_features": 8, "window": 3}


@pytest.fixture(autouse=True)
def _artifact_cache(tmp_path_factory, monkeypatch):
    """Artifacts exported on demand (k3dn.artifacts) go to one temporary cache per session, never ~/.cache."""
    monkeypatch.setenv("K3DN_CACHE", str(tmp_path_factory.getbasetemp() / "k3dn_cache"))


def assert_int8_close_to_float(model, path: Path, size: tuple[int, int]) -> None:
    """An int8 artifact written without a sidecar, run in its runtime, is close to the float model and really quantized
    (30 dB < PSNR vs float < 100 dB) on one parity pair."""
    from k3dn.export.parity import parity_pairs, psnr
    from k3dn.export.runners import TorchRunner, open_runner

    reference = TorchRunner(model)
    with open_runner(path, verify=False) as runner:
        for left, right in parity_pairs(*size, seeds=(4,)):
            db = psnr(runner(left, right), reference(left, right))
            assert 30 < db < 100, f"PSNR vs float {db:.1f} dB"


# A tiny folder in the Canon DPDD layout (the DPDD reader's and k3dn train --dpdd's tests).
NAMES = ("1P0A2417", "1P0A2420")


def make_dpdd(root: Path, split: str = "test", names=NAMES, size=(48, 72)) -> dict:
    """Write dd_dp_dataset_png/{split}_{c,l,r}/... with 16-bit PNGs; return the arrays written."""
    rng = np.random.default_rng(0)
    written = {}
    for name in names:
        arrays = {key: (rng.integers(0, 65536, (*size, 3)) / 65535).astype(np.float32)
                  for key in ("left", "right", "sharp")}
        arrays["blurry"] = (np.round((arrays["left"] + arrays["right"]) / 2 * 65535) / 65535).astype(np.float32)
        for key, (view, kind) in {"blurry": ("c", "source"), "left": ("l", "source"), "right": ("r", "source"),
                                  "sharp": ("c", "target")}.items():
            folder = root / "dd_dp_dataset_png" / f"{split}_{view}" / kind
            folder.mkdir(parents=True, exist_ok=True)
            write_image(folder / f"{name}.png", arrays[key], bits=16)
        written[name] = arrays
    return written
