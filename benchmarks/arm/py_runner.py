"""Run ONNX Runtime and LiteRT artifacts on prepared inputs: `python py_runner.py JOBS.json`.

The same file runs under this machine's Python (x86-64) and under an arm64 Python in qemu-aarch64, so it imports
numpy and the two runtimes only (no k3dn, no torch). Each job: {"backend": "onnx"|"tflite", "artifact": PATH,
"inputs": NPZ with arrays `left` and `right` already in the model's input dtype, "out": NPY for the raw first
output (int8 codes stay int8), "key": its name in the `seconds KEY S` line printed per job}. It prints the CPU's
features first. One thread: XNNPACK and MLAS split work by output tiles, not by reduction order, so the thread
count does not change the numbers, and one thread keeps the emulated runs simple.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def run_onnx(artifact: str, feeds: dict) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    session = ort.InferenceSession(artifact, opts, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def run_tflite(artifact: str, feeds: dict) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=artifact, num_threads=1).get_signature_runner("serving_default")
    return next(iter(runner(**feeds).values()))


def cpu_features() -> str:
    """The Features line of /proc/cpuinfo (under qemu-user: the emulated CPU model's, from its HWCAPs)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("Features")), "")
    except OSError:
        return ""


def main(jobs_path: str) -> int:
    print(f"features: {cpu_features()}", flush=True)
    for job in json.loads(open(jobs_path).read()):
        with np.load(job["inputs"]) as z:
            feeds = {name: z[name] for name in ("left", "right")}
        start = time.perf_counter()
        out = {"onnx": run_onnx, "tflite": run_tflite}[job["backend"]](job["artifact"], feeds)
        np.save(job["out"], out)
        print(f"seconds {job['key']} {time.perf_counter() - start:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
