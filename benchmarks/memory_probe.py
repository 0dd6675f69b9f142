"""Peak RSS of one inference through an artifact, in a fresh process (run as a script; prints one JSON line).

    python benchmarks/memory_probe.py ARTIFACT [--threads 2]

Reports the process's resident set after importing the runners (`base_mb`), after opening the artifact
(`loaded_mb`) and its peak over the whole run, one inference on random inputs of the artifact's size included
(`peak_mb`, from /proc/self/status VmHWM, the same number as `/usr/bin/time -v`'s maximum resident set size).
"""

from __future__ import annotations

import argparse
import json


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("artifact")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import numpy as np

    from k3dn.camera.runners import open_runner

    base = _status_mb("VmRSS")
    with open_runner(args.artifact, threads=args.threads, verify=False) as runner:
        loaded = _status_mb("VmRSS")
        rng = np.random.default_rng(0)
        left, right = (rng.random(runner.input_shape, dtype=np.float32) for _ in range(2))
        runner(left, right)
        print(json.dumps({"artifact": args.artifact, "runner": runner.name, "precision": runner.precision,
                          "base_mb": round(base, 1), "loaded_mb": round(loaded, 1),
                          "peak_mb": round(_status_mb("VmHWM"), 1)}))


if __name__ == "__main__":
    main()
