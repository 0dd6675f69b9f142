"""Not a test: the two LiteRT paths on one .tflite, median of 3 inferences each after a warm-up, same process.

    python benchmarks/litert_runner_paths.py ARTIFACT.tflite

`k3dn.camera.runners.LiteRTRunner` (CompiledModel with transient indirection buffers, issue 31's memory fix) against
the classic Interpreter it replaced for float-I/O models. Prints one JSON line of seconds.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np


def median_seconds(run, n: int = 3) -> float:
    run()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def main() -> None:
    from ai_edge_litert.interpreter import Interpreter

    from k3dn.camera.runners import LiteRTRunner

    path = sys.argv[1]
    runner = LiteRTRunner(path, threads=2)
    x = np.random.default_rng(0).random(runner.input_shape, dtype=np.float32)
    result = {"litert_compiled": median_seconds(lambda: runner(x, x))}
    runner.close()
    signature = Interpreter(model_path=path, num_threads=2).get_signature_runner("serving_default")
    result["litert_interpreter"] = median_seconds(lambda: signature(left=x, right=x))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
