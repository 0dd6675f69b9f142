"""`--skip-in-focus`: the threshold chosen on simulated frames, then its PSNR change and tiles skipped reported on the
real Canon validation scenes and the synthetic eval set's mild slice (budget: <= 0.05 dB lost on each).

    python benchmarks/skip_in_focus.py --choose     # simulated selection frames (seed 4321): the threshold sweep
    python benchmarks/skip_in_focus.py              # report k3dn.camera.infocus.SKIP_THRESHOLD on the held-out sets
    python benchmarks/skip_in_focus.py --threshold 0.002 0.004 ...   # other thresholds, for comparison only

The choice never sees the real Canon scenes or the eval set's seed: the selection frames are simulated at another
seed (both the full blur range and the mild slice), cut into 256-px tiles so each frame has a dozen. The report runs
the shipped Tiny through the camera pipeline at `k3dn eval`'s tile (512 px, default overlap); the speed-up is the
share of tiles the network does not run (each skipped tile costs only its DP score, ~1 % of a tile's inference).
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import torch

import k3dn
from k3dn.camera import Deblurrer
from k3dn.camera.infocus import SKIP_THRESHOLD
from k3dn.camera.runners import Runner, TorchRunner
from k3dn.evaluation.metrics import psnr

BUDGET_DB = 0.05
CANDIDATES = (0.001, 0.002, 0.003, 0.004, 0.006, 0.008, 0.012, 0.016, 0.024)


class Memo(Runner):
    """A runner that remembers its outputs by input bytes, so a threshold sweep runs each tile once."""

    def __init__(self, inner: Runner) -> None:
        super().__init__()
        self.inner, self.name, self.input_shape, self.thread_safe = inner, inner.name, inner.input_shape, True
        self.seen: dict[bytes, np.ndarray] = {}

    def _run(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        key = hashlib.blake2b(left.tobytes() + right.tobytes(), digest_size=16).digest()
        if key not in self.seen:
            self.seen[key] = self.inner(left, right)
        return self.seen[key]


def score(runner: Runner, items: list[dict], tile: int, threshold: float | None) -> tuple[float, int, int]:
    """(mean PSNR dB over the items' scored rows, tiles skipped, tiles) with `threshold` (None: no skipping)."""
    deblur = Deblurrer(runner, tile=tile, skip_in_focus=threshold, prefetch=False)
    values, skipped, total = [], 0, 0
    for item in items:
        stats: dict = {}
        top = item.get("score_top", 0)
        values.append(psnr(deblur(item["left"], item["right"], stats=stats)[top:], item["sharp"][top:]))
        skipped, total = skipped + stats["skipped"], total + stats["tiles"]
    return float(np.mean(values)), skipped, total


def choose(runner: Runner) -> float:
    from k3dn.data import make_eval_set

    sets = {name: make_eval_set(n=8, size=(512, 768), seed=4321, mild=mild) for name, mild in
            (("simulated, full blur range", False), ("simulated, mild", True))}
    best = 0.0
    print("| threshold | " + " | ".join(f"{n}: dB lost, tiles skipped" for n in sets) + " |")
    base = {name: score(runner, items, 256, None)[0] for name, items in sets.items()}
    for thr in CANDIDATES:
        cells, ok = [], True
        for name, items in sets.items():
            value, skipped, total = score(runner, items, 256, thr)
            cells.append(f"{base[name] - value:+.3f}, {skipped}/{total}")
            ok &= base[name] - value <= BUDGET_DB / 2
        best = thr if ok and thr > best else best
        print(f"| {thr:g} | " + " | ".join(cells) + " |", flush=True)
    print(f"largest threshold within half the budget ({BUDGET_DB / 2} dB) on both simulated sets: {best:g}")
    return best


def report(runner: Runner, thresholds: list[float]) -> None:
    from k3dn.data import make_eval_set
    from k3dn.evaluation.realdp import load_real_dp

    sets = {"real Canon (7 scenes, validation only)": load_real_dp(),
            "synthetic eval set, mild slice (--slice mild --n 24 --size 256)": make_eval_set(n=24, size=(256, 256),
                                                                                               mild=True)}
    print("| set | threshold | PSNR dB, all tiles | PSNR dB, skipping | change dB | tiles skipped | speed-up |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    for name, items in sets.items():
        full, _, total = score(runner, items, 512, None)
        for threshold in thresholds:
            skip, skipped, _ = score(runner, items, 512, threshold)
            print(f"| {name} | {threshold:g} | {full:.3f} | {skip:.3f} | {skip - full:+.3f} | {skipped}/{total} | "
                  f"{total / max(total - skipped, 1):.2f}x |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choose", action="store_true", help="sweep thresholds on the simulated selection frames")
    parser.add_argument("--threshold", type=float, nargs="+", default=[SKIP_THRESHOLD],
                        help="thresholds to report (default: infocus.SKIP_THRESHOLD, the one chosen by --choose)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runner = Memo(TorchRunner(k3dn.load_pretrained("tiny")))
    if args.choose:
        choose(runner)
    else:
        report(runner, args.threshold)


if __name__ == "__main__":
    main()
