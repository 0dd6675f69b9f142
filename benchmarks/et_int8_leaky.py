"""ExecuTorch int8: LeakyReLU as a float island (ExecuTorch's default XNNPACK partitioner: convert to fp32,
LeakyReLU, convert back; the artifacts before 2026-12-07) against one int8 XNNPACK LeakyReLU
(`export.executorch.xnnpack_partitioner`, the default now). One calibration, the same PT2E graph and float layers
(the published mix); only the lowering differs. The drop is scored on the eval set against the float model, the
latency is the median of `--runs` calls in the ExecuTorch runtime, the two artifacts alternating.

    python benchmarks/et_int8_leaky.py [--size 256x256] [--runs 20] [--threads 2] [--eval-n 24]

Run it on an otherwise idle machine (pause any training run).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="256x256", help="artifact size HxW (default 256x256)")
    ap.add_argument("--runs", type=int, default=20, help="timed calls per artifact (0: quality only; default 20)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-n", type=int, default=24, help="eval pairs scored (0: timing only; default 24)")
    ap.add_argument("--calib", type=int, default=64, help="calibration pairs (default 64, as numerics.json)")
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.lower().split("x"))
    torch.set_num_threads(args.threads)

    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    from k3dn.artifacts import recorded_float_layers
    from k3dn.calibration.calib_set import build_calib_set
    from k3dn.calibration.executorch import ExecuTorchInt8
    from k3dn.calibration.report import float_outputs, score, score_outputs
    from k3dn.data import make_eval_set
    from k3dn.export.executorch import write_pte
    from k3dn.export.lower import lower
    from k3dn.export.runners import open_runner
    from k3dn.export.weights import model_and_source

    model, info = model_and_source("tiny")
    layers = recorded_float_layers("executorch", "int8", info["state_sha256"])
    if layers is None:
        raise SystemExit("no ExecuTorch int8 mix is published for the shipped weights (calibration/numerics.json)")
    lowered = lower(model)
    inputs = build_calib_set(n=args.calib, size=(128, 128), progress=False).inputs((h, w))
    items = make_eval_set(n=args.eval_n, size=(h, w)) if args.eval_n else []
    reference = float_outputs(model, items, progress=False)
    float_psnr = score_outputs(reference, items, reference, with_ssim=False).psnr_gt if items else float("nan")
    pair = tuple(np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32) for _ in range(2))
    rows, runners = {}, {}
    recipe = ExecuTorchInt8(lowered, (h, w))
    recipe.calibrate(inputs, progress=False)
    graph = recipe.calibrated.convert(layers)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        for name, partitioner in (("float island (default partitioner)", XnnpackPartitioner()),
                                  ("int8 (xnnpack_partitioner)", None)):
            path = write_pte(graph, recipe.example, Path(tmp) / f"{len(rows)}.pte", partitioner=partitioner)
            runner = stack.enter_context(open_runner(path, verify=False))
            runners[name] = runner
            drop = float_psnr - score(runner, items, reference, progress=False, with_ssim=False).psnr_gt \
                if items else float("nan")
            rows[name] = {"drop_db": drop, "bytes": path.stat().st_size, "times": []}
            runner(*pair)  # warm-up: weight packing
        for _ in range(args.runs):
            for name, runner in runners.items():
                start = time.perf_counter()
                runner(*pair)
                rows[name]["times"].append(time.perf_counter() - start)
    print(f"ExecuTorch int8, {h}x{w}, {args.threads} threads, float layers {', '.join(layers)}, "
          f"{args.eval_n} eval pairs, {args.runs} runs")
    print("| LeakyReLU | drop vs float (dB) | median ms | MB |\n|---|---:|---:|---:|")
    for name, row in rows.items():
        ms = f"{1000 * np.median(row['times']):.1f}" if row["times"] else "-"
        print(f"| {name} | {row['drop_db']:+.3f} | {ms} | {row['bytes'] / 1e6:.2f} |")


if __name__ == "__main__":
    main()
