"""Sim-to-real measure: real DP views (no ground truth read) against simulated pairs of each kernel family.

    .venv/bin/python docs/sim2real/measure.py [--n 12] [--out docs/sim2real/measure.json]

For the real Canon and Pixel views in ../shared/data/real-dp/ (views only) and for simulated pairs
(k3dn.data.generate.random_sample, 384 x 384, the simulator's own noise and gain draws) of the two
published families and the two calibrated ones, it computes k3dn.data.sim2real.measure (block
disparity against block blur, |L-R| band spectra) and its distance to each real camera; then the
Poisson-Gaussian noise and left/right gain fits (k3dn.data.noise_fit) of the real views and of
simulated ones. Writes measure.json and psf_shapes.png (the committed fitted kernels of both camera kinds
beside the published families at the same disparity) atomically, and prints the tables docs/sim2real.md
quotes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from k3dn.data.generate import random_sample
from k3dn.data.noise_fit import compare_to_simulator, fit_gain, fit_noise
from k3dn.data.sim2real import distance, measure
from k3dn.evaluation.realdp import find_root
from k3dn.io import read_image

SIM_SETS = {"sim butterworth": dict(family="butterworth"), "sim disc": dict(family="disc"),
            "sim calibrated_dslr": dict(family="calibrated_dslr"),
            "sim calibrated_phone": dict(family="calibrated_phone")}


def real_pairs(root: Path, prefix: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The views of one camera (NAME_left / NAME_right only; no other file is opened)."""
    lefts = sorted(root.glob(f"{prefix}_*_left.png"))
    return [(read_image(p)[0], read_image(p.with_name(p.name.replace("_left", "_right")))[0]) for p in lefts]


def sim_pairs(n: int, size: int, seed: int, degrade: bool = False, **kwargs) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i in range(n):
        s = random_sample((size, size), np.random.default_rng([seed, i]), linear=True, **kwargs)
        left, right = s["left"], s["right"]
        if degrade:
            from k3dn.data.degrade import palette_pair

            left, right = palette_pair(left, right)
        out.append((left, right))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12, help="simulated pairs per family")
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--seed", type=int, default=32)
    ap.add_argument("--out", default=str(Path(__file__).with_name("measure.json")))
    args = ap.parse_args()
    root = find_root()
    sets = {"real canon": real_pairs(root, "canon"), "real pixel": real_pairs(root, "pixel")}
    for name, kw in SIM_SETS.items():
        sets[name] = sim_pairs(args.n, args.size, args.seed, **kw)
    sets["sim calibrated_dslr + palette"] = sim_pairs(args.n, args.size, args.seed, degrade=True,
                                                      family="calibrated_dslr")
    summaries = {name: measure(pairs) for name, pairs in sets.items()}
    report: dict = {"measure": summaries, "distance": {}, "noise": {}, "gain": {}}
    for real in ("real canon", "real pixel"):
        report["distance"][real] = {name: distance(summaries[real], s) for name, s in summaries.items()
                                    if name.startswith("sim")}
    for name, pairs in sets.items():
        views = [v for pair in pairs for v in pair]
        noise = fit_noise(views)
        gains = [fit_gain(a, b) for a, b in pairs]
        report["noise"][name] = noise | {"vs_simulator": compare_to_simulator(noise, gains)}
        report["gain"][name] = gains
    from k3dn.data.dp_family import calibration_doc
    from k3dn.data.sim2real import kernel_figure
    from k3dn.io import atomic_write_many, encode_image

    figure = kernel_figure({kind: calibration_doc(f"calibrated_{kind}") for kind in ("dslr", "phone")})
    atomic_write_many({Path(args.out): (json.dumps(report, indent=1) + "\n").encode(),
                       Path(args.out).with_name("psf_shapes.png"): encode_image(figure, 8)})

    print("| set | blocks (defocused) | median abs d px | median blur sigma px | median abs d / sigma | "
          "L-R spectrum log10 (4 bands, low to high) |")
    print("|---|---|---|---|---|---|")
    for name, s in summaries.items():
        print(f"| {name} | {s['blocks']} ({s['defocused_blocks']}) | {s['abs_disparity_q'][1]:.2f} | "
              f"{s['blur_sigma_q'][1]:.2f} | {s['disparity_per_sigma_q'][1]:.3f} | "
              + " ".join(f"{v:.2f}" for v in s["lr_log10_spectrum"]) + " |")
    print()
    print("| simulated set | vs canon: d/sigma log gap, spectrum gap | vs pixel: same |")
    print("|---|---|---|")
    for name in summaries:
        if name.startswith("sim"):
            c, p = report["distance"]["real canon"][name], report["distance"]["real pixel"][name]
            print(f"| {name} | {c['log_ratio_gap']:.3f}, {c['spectrum_gap_log10']:.3f} | "
                  f"{p['log_ratio_gap']:.3f}, {p['spectrum_gap_log10']:.3f} |")
    print()
    print("| set | shot | read | sigma at mid grey (linear) | abs log gain L/R, max | abs grad, max |")
    print("|---|---|---|---|---|---|")
    for name in sets:
        n, g = report["noise"][name], report["gain"][name]
        print(f"| {name} | {n['shot']:.2e} | {n['read']:.2e} | {n['sigma_at_mid_grey_linear']:.4f} | "
              f"{max(abs(x['lr_log_gain']) for x in g):.3f} | "
              f"{max(max(abs(x['grad_x']), abs(x['grad_y'])) for x in g):.3f} |")


if __name__ == "__main__":
    main()
