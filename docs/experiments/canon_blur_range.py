"""How large is the blur in the real Canon DP views? Per-block signed radius fitted from the two views alone.

For every 64-px block (stride 32) of each canon_NN pair in ../shared/data/real-dp (840 x 560, half of
DPDD's 1680 x 1120), fit the signed blur radius c of the calibrated DSLR kernel family (k3dn calibrate-psf's
fit, up to 30 px) and keep the blocks the fit explains (residual < 0.8 x that of c = 0: defocused and
textured). Prints |c| percentiles per scene and over all; no ground truth is read.

    python docs/experiments/canon_blur_range.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from k3dn.data.dp_family import calibrated_shape
from k3dn.data.psf_calib import find_pairs, load_pair
from k3dn.data.psf_fit import block_spectra, fit_radii, radius_costs
from k3dn.evaluation.realdp import find_root


def main() -> None:
    shape = calibrated_shape("calibrated_dslr")
    radii = []
    print("| scene | blocks fitted / all | p50 abs c | p90 | p99 | max |\n|---|---|---:|---:|---:|---:|")
    for left, right in find_pairs(find_root()):
        if not left.name.startswith("canon"):
            continue
        spectra = block_spectra(*load_pair(left, right), 64, 32)
        c, cost = fit_radii(spectra, shape, 30.0)
        keep = cost < 0.8 * radius_costs(spectra, shape, np.zeros(1))[:, 0]
        radii.append(np.abs(c[keep]))
        print(f"| {left.name[:8]} | {keep.sum()} / {len(c)} | "
              + " | ".join(f"{v:.1f}" for v in np.percentile(radii[-1], [50, 90, 99, 100])) + " |")
    every = np.concatenate(radii)
    print("| all | | " + " | ".join(f"{v:.1f}" for v in np.percentile(every, [50, 90, 99, 100])) + " |")


if __name__ == "__main__":
    main()
