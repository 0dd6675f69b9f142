"""`k3dn demo`: simulate a DP capture of a photograph held out of training, deblur it with the
shipped K3DN-Tiny, print input/output quality and write a before/after PNG."""

from __future__ import annotations

import argparse
import time

import numpy as np

from ..errors import UserError

LABEL_HEIGHT = 22


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="k3dn_demo.png", help="before/after image to write")
    parser.add_argument("--weights", default=None, help="safetensors weights (default: the shipped K3DN-Tiny)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed of the simulated capture")


def demo_scene() -> tuple[np.ndarray, np.ndarray]:
    """The held-out photograph and a signed blur-radius map: in focus at 40% of the width, the scene
    in front of the focal plane to the left (c < 0, up to -6 px) and behind it to the right (up to +9 px)."""
    from ..data.photos import HELD_OUT, load_bundled

    image, _ = load_bundled(HELD_OUT)
    h, w = image.shape[:2]
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)
    radius = np.where(x < 0.4, (x - 0.4) / 0.4 * 6.0, (x - 0.4) / 0.6 * 9.0)
    return image, np.repeat(radius[None], h, axis=0).astype(np.float32)


def labelled(panels: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Panels side by side with a caption strip above each, 4 px white gutters."""
    import cv2

    rows = []
    for i, (text, img) in enumerate(panels):
        strip = np.full((LABEL_HEIGHT, img.shape[1], 3), 255, np.uint8)
        cv2.putText(strip, text, (4, LABEL_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        col = np.concatenate([strip.astype(np.float32) / 255.0, img], axis=0)
        rows.append(col if i == 0 else np.concatenate([np.ones((col.shape[0], 4, 3), np.float32), col], axis=1))
    return np.concatenate(rows, axis=1)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..camera import Deblurrer
    from ..data import simulate_pair
    from ..evaluation.metrics import psnr, ssim
    from ..io import write_image
    from ..network.weights_io import load_model
    from .deblur import check_output

    out = Path(args.out)
    check_output(out)
    model = load_model(args.weights)
    image, radius = demo_scene()
    sim = simulate_pair(image, radius, family="butterworth", seed=args.seed, noise=(0.002, 0.001),
                        brightness=(0.03, 0.05, 0.02))
    t0 = time.perf_counter()
    sharp = Deblurrer(model)(sim["left"], sim["right"])
    seconds = time.perf_counter() - t0
    gt, blurry = sim["sharp"], sim["blurry"]
    p_in, p_out = psnr(blurry, gt), psnr(sharp, gt)
    s_in, s_out = ssim(blurry, gt), ssim(sharp, gt)
    h, w = gt.shape[:2]
    print(f"scene: held-out photograph {w}x{h}, blur radius -6..+9 px (RDPD Butterworth DP kernels, noise on)")
    print(f"input  (B = (B_L + B_R)/2): PSNR {p_in:.2f} dB  SSIM {s_in:.3f}")
    print(f"K3DN-Tiny output          : PSNR {p_out:.2f} dB  SSIM {s_out:.3f}  "
          f"({p_out - p_in:+.2f} dB, {seconds:.2f} s)")
    panel = labelled([(f"input {p_in:.2f} dB", blurry), (f"K3DN-Tiny {p_out:.2f} dB", sharp),
                      ("ground truth", gt)])
    try:
        write_image(out, panel, bits=8)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from exc
    print(f"wrote {out}")
    return 0
