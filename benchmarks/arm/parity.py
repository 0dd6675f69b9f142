"""ARM numerics check, the Python side of benchmarks/arm_parity.sh (which installs the tools and calls this).

Runs each shipped fp32 and int8 artifact (ExecuTorch, ONNX Runtime, LiteRT; from the artifact cache, built there at
`--size` if missing) on one simulated DP pair, on x86-64 here and on aarch64 under `qemu-aarch64 -cpu MODEL` for
every `--cpu`, and compares each aarch64 output with the x86 output of the same artifact and runtime version:

- ExecuTorch: benchmarks/arm/et_runner.cpp, compiled natively and for aarch64 against the same executorch wheel
  version's libexecutorch*.so (the project's pin ships no C++ runtime in its wheels, see arm_parity.sh), so the
  two differ only by XNNPACK's x86 and ARM micro-kernels. The `pin` column is that x86 runner against the pinned
  Python runtime on the same artifact (informative: a runtime-version difference, not an ARM one).
- ONNX Runtime and LiteRT: benchmarks/arm/py_runner.py under this Python and under an arm64 Python in qemu, with the
  same wheel versions.

Tolerances (max |aarch64 - x86| on the output, values in [0, 1]; why these, in docs/arm.md):
- fp32: 1e-5. A correct ARM kernel differs from the x86 one only by rounding (another summation order, FMA or
  not, another exp/sigmoid polynomial): a few float32 ulps per layer. Two correct x86 runtimes of this model differ
  from each other and from eager PyTorch by <= 5.1e-7 (../shared/TOOLCHAIN.md, docs/export.md); 1e-5 is 20x that
  spread, 10x under the export's own parity budget (1e-4) and 1/390 of one 8-bit output code, while a wrong
  kernel (tap, lane, saturation, NaN) moves outputs by 1e-3 or more.
- int8: one 8-bit output code, 1/255. Integer dot products are exact on every ISA (int32 accumulators), so the
  only legitimate differences are rounding at requantization (an intermediate int8 activation one LSB apart, at a
  tie or with fixed-point against float multipliers) and float rounding in the float islands. One intermediate LSB
  carried through the float decoder moves an output pixel by well under one output code; a saturating or wrong
  int8 kernel moves it by many.
A row whose aarch64 runtime could not be had is SKIPPED with the reason (never counted as passed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BACKENDS = ("executorch", "onnx", "tflite")
PRECISIONS = ("fp32", "int8")
TOLERANCE = {"fp32": 1e-5, "int8": 1 / 255}
RUNTIME = {"executorch": "ExecuTorch XNNPACK (C++ runner)", "onnx": "ONNX Runtime", "tflite": "LiteRT"}
FORMAT = "k3dn-arm-parity-v1"
# The CPU features that pick different int8/fp32 kernels, printed per CPU model under the table.
NOTABLE = ("asimd", "asimdhp", "asimddp", "sve", "sve2", "i8mm", "svei8mm", "bf16", "sme", "sme2")


NO_VNNI_REASON = ("the x86 reference is inexact here: this host has no VNNI (avx512_vnni / avx_vnni), where ONNX "
                  "Runtime's and XNNPACK's x86 int8 kernels use 16-bit saturating u8s8 products; measured on an AVX2 "
                  "AMD EPYC: max |diff| 0.153 (ONNX Runtime) and 0.0096 (LiteRT) against aarch64, all rows pass on "
                  "VNNI hosts")


def host_has_vnni(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the x86 host has VNNI; unreadable flags count as yes (the check then runs as before)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as fh:
            flags = next((line.split(":", 1)[1].split() for line in fh if line.startswith("flags")), None)
    except OSError:
        return True
    return flags is None or "avx512_vnni" in flags or "avx_vnni" in flags


def parse_size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def sample_pair(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One photograph pair of the fixed eval set (item 2: photos, first kernel family), 1 x 3 x H x W float32."""
    from k3dn.data import make_eval_set

    item = make_eval_set(n=3, size=size)[2]
    return tuple(np.ascontiguousarray(item[k].transpose(2, 0, 1)[None], dtype=np.float32) for k in ("left", "right"))


def model_feeds(backend: str, artifact: Path, left: np.ndarray, right: np.ndarray) -> dict[str, np.ndarray]:
    """The inputs as the artifact takes them: a full-integer LiteRT model takes int8 codes, quantized here once (the
    same codes go to both machines, so its raw int8 output codes are compared as they are)."""
    if backend != "tflite":
        return {"left": left, "right": right}
    from k3dn.camera.runners import LiteRTRunner

    runner = LiteRTRunner(artifact, threads=1)
    return {name: runner._quantize(x, runner.inputs[name]) for name, x in (("left", left), ("right", right))}


def output_step(backend: str, artifact: Path) -> float:
    """The value of one output code when the artifact returns int8 codes (LiteRT full-integer), else 1."""
    if backend != "tflite":
        return 1.0
    from k3dn.camera.runners import LiteRTRunner

    scale, _ = LiteRTRunner(artifact, threads=1).output["quantization"]
    return float(scale) or 1.0


def run_et(runner: list[str], pte: Path, feeds: dict, out: Path) -> float:
    """The C++ runner on raw float32 files (runner = [binary] or [qemu, -cpu, M, -L, root, binary])."""
    for name, x in feeds.items():
        x.tofile(out.with_suffix(f".{name}.f32"))
    start = time.perf_counter()
    proc = subprocess.run([*runner, str(pte), str(out.with_suffix(".left.f32")), str(out.with_suffix(".right.f32")),
                           str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(runner[:3])}: exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return time.perf_counter() - start


def run_py(python: list[str], jobs: list[dict], jobs_path: Path) -> tuple[dict[str, float], str]:
    """py_runner.py on every ONNX Runtime / LiteRT job in one interpreter (python = [exe] or [qemu ..., exe]):
    ({job key: seconds of its session/interpreter set-up and run}, the CPU features it saw)."""
    jobs_path.write_text(json.dumps(jobs))
    proc = subprocess.run([*python, str(HERE / "py_runner.py"), str(jobs_path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"py_runner exit {proc.returncode}: {proc.stderr.strip()[-600:]}")
    lines = proc.stdout.splitlines()
    features = next((line[len("features:"):].strip() for line in lines if line.startswith("features:")), "")
    return {k: float(s) for _, k, s in (line.split() for line in lines if line.startswith("seconds "))}, features


def compare(ref: np.ndarray, got: np.ndarray, step: float) -> dict:
    """max |diff| in output values (codes x step for int8 outputs), PSNR of got against ref, and the code diff."""
    if ref.shape != got.shape:
        return {"error": f"output shape {got.shape} != x86 {ref.shape}"}
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    worst = float(np.nanmax(diff)) if np.isfinite(diff).all() else float("inf")
    mse = float(np.mean((diff * step) ** 2))
    row = {"max_abs_diff": worst * step, "identical": bool(worst == 0),
           "psnr_db": float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)}
    if np.issubdtype(got.dtype, np.integer):
        row["max_code_diff"] = int(worst)
    return row


def load_output(path: Path, dtype=np.float32, shape=None) -> np.ndarray:
    return np.load(path) if path.suffix == ".npy" else np.fromfile(path, dtype=dtype).reshape(shape)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="64x64", type=parse_size)
    p.add_argument("--cpu", action="append", required=True, help="qemu-aarch64 -cpu model (repeatable)")
    p.add_argument("--backend", action="append", choices=BACKENDS, help="default: all three")
    p.add_argument("--precision", action="append", choices=PRECISIONS, help="default: fp32 and int8")
    p.add_argument("--qemu", help="qemu-aarch64 binary")
    p.add_argument("--sysroot", help="arm64 root (libc, libstdc++, python3.11) for qemu -L")
    p.add_argument("--arm-site", help="aarch64 site-packages (numpy, onnxruntime, ai-edge-litert)")
    p.add_argument("--et-x86", help="et_runner built natively")
    p.add_argument("--et-a64", help="et_runner built for aarch64")
    p.add_argument("--et-version", default="?", help="executorch version the runners link")
    p.add_argument("--skip", action="append", default=[], metavar="BACKEND=REASON",
                   help="skip a backend's aarch64 rows with this reason (its runtime could not be had)")
    p.add_argument("--json", type=Path, help="write the rows here")
    a = p.parse_args(argv)
    skips = dict(s.split("=", 1) for s in a.skip)
    if not a.qemu:
        skips = {b: skips.get(b, "no qemu-aarch64") for b in BACKENDS}
    if not (a.et_x86 and a.et_a64):
        skips.setdefault("executorch", "no ExecuTorch C++ runner was built")
    if not (a.sysroot and a.arm_site):
        for b in ("onnx", "tflite"):
            skips.setdefault(b, "no arm64 Python with the runtime wheels")
    start = time.time()
    work = Path(tempfile.mkdtemp(prefix="k3dn_arm_"))
    left, right = sample_pair(a.size)
    rows, artifacts, features = [], {}, {}
    from k3dn.artifacts import cached_artifact

    for backend in a.backend or BACKENDS:
        for precision in a.precision or PRECISIONS:
            artifacts[backend, precision] = cached_artifact(backend, precision, a.size,
                                                            progress=lambda m: print(m, file=sys.stderr))
    # x86 references (and the inputs each artifact takes)
    feeds, ref, x86_s, py_jobs = {}, {}, {}, []
    for (backend, precision), art in artifacts.items():
        key = f"{backend}-{precision}"
        feeds[key] = model_feeds(backend, art, left, right)
        np.savez(work / f"{key}.npz", **feeds[key])
        if backend == "executorch":
            if a.et_x86:
                x86_s[key] = run_et([a.et_x86], art, feeds[key], work / f"{key}.x86.f32")
                ref[key] = load_output(work / f"{key}.x86.f32", shape=left.shape)
        else:
            py_jobs.append({"backend": backend, "artifact": str(art), "inputs": str(work / f"{key}.npz"),
                            "key": key})
    run_py([sys.executable], [dict(j, out=str(work / f"{j['key']}.x86.npy")) for j in py_jobs],
                    work / "jobs.x86.json")
    for j in py_jobs:
        ref[j["key"]] = np.load(work / f"{j['key']}.x86.npy")
    pin = pinned_runtime_diff(artifacts, ref, left, right)

    for cpu in a.cpu:
        qemu = [a.qemu, "-cpu", cpu, "-L", a.sysroot or "/"] if a.qemu else []
        outs, secs, errors = {}, {}, {}
        jobs = [dict(j, out=str(work / f"{j['key']}.{cpu}.npy")) for j in py_jobs if j["backend"] not in skips]
        if jobs:
            python = [*qemu, "-E", f"PYTHONPATH={a.arm_site}", "-E", f"PYTHONHOME={a.sysroot}/usr",
                      f"{a.sysroot}/usr/bin/python3.11"]
            try:
                py_secs, features[cpu] = run_py(python, jobs, work / f"jobs.{cpu}.json")
                secs.update(py_secs)
                outs.update({j["key"]: np.load(j["out"]) for j in jobs})
            except RuntimeError as e:
                errors.update({j["key"]: str(e) for j in jobs})
        for (backend, precision), art in artifacts.items():
            key = f"{backend}-{precision}"
            if backend == "executorch" and backend not in skips:
                try:
                    secs[key] = run_et([*qemu, a.et_a64], art, feeds[key], work / f"{key}.{cpu}.f32")
                    outs[key] = load_output(work / f"{key}.{cpu}.f32", shape=left.shape)
                except RuntimeError as e:
                    errors[key] = str(e)
            row = {"backend": backend, "precision": precision, "cpu": cpu, "artifact": art.name,
                   "runtime": RUNTIME[backend], "tolerance": TOLERANCE[precision], "pin_diff": pin.get(key)}
            if backend in skips:
                row.update(status="SKIPPED", reason=skips[backend])
            elif key in errors:
                row.update(status="FAIL", reason=errors[key])
            else:
                cmp = compare(ref[key], outs[key], output_step(backend, art))
                ok = "error" not in cmp and cmp["max_abs_diff"] <= TOLERANCE[precision]
                row.update(cmp, status="PASS" if ok else "FAIL", reason=cmp.get("error", ""),
                           emulated_s=round(secs[key], 1))
                if not ok and precision == "int8" and backend in ("onnx", "tflite") and not host_has_vnni():
                    row.update(status="SKIPPED", reason=NO_VNNI_REASON)  # the diff stays in the row
            rows.append(row)
    print_table(rows)
    for cpu, line in features.items():
        print(f"{cpu}: {' '.join(f for f in line.split() if f in NOTABLE)}")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("PASS", "FAIL", "SKIPPED")}
    if a.json:
        write_json(a, rows, counts, features, time.time() - start)
    verdict = "FAIL" if counts["FAIL"] else "PASS"
    print(f"arm_parity: {verdict}: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIPPED']} skipped "
          f"({len(a.cpu)} CPU models x {len(artifacts)} artifacts at {a.size[0]}x{a.size[1]}, "
          f"{time.time() - start:.0f} s)")
    return 1 if counts["FAIL"] else 0


def pinned_runtime_diff(artifacts: dict, ref: dict, left: np.ndarray, right: np.ndarray) -> dict:
    """max |diff| between the x86 reference and the project's pinned Python runtime on the same ExecuTorch artifact
    (ONNX Runtime and LiteRT references already are the pinned runtime: 0 by construction, so not listed)."""
    from k3dn.camera.runners import open_runner

    out = {}
    for (backend, precision), art in artifacts.items():
        key = f"{backend}-{precision}"
        if backend == "executorch" and key in ref:
            with open_runner(art, threads=1) as runner:
                out[key] = float(np.abs(runner(left, right) - ref[key]).max())
    return out


def print_table(rows: list[dict]) -> None:
    print(f"{'backend':<11}{'prec':<6}{'cpu':<13}{'max|diff|':>11}{'tol':>9}{'PSNR dB':>9}{'pin diff':>10}"
          f"{'s':>6}  result")
    for r in rows:
        diff = "-" if "max_abs_diff" not in r else ("0" if r["identical"] else f"{r['max_abs_diff']:.2e}")
        psnr = "-" if "psnr_db" not in r else ("inf" if r["psnr_db"] == float("inf") else f"{r['psnr_db']:.1f}")
        pin = "-" if r["pin_diff"] is None else f"{r['pin_diff']:.1e}"
        secs = f"{r['emulated_s']:.1f}" if "emulated_s" in r else "-"
        note = r["status"] + (f" ({r['max_code_diff']} code)" if "max_code_diff" in r else "")
        note += f": {r['reason']}" if r.get("reason") else ""
        print(f"{r['backend']:<11}{r['precision']:<6}{r['cpu']:<13}{diff:>11}{r['tolerance']:>9.1e}{psnr:>9}"
              f"{pin:>10}{secs:>6}  {note}")


def write_json(a: argparse.Namespace, rows: list[dict], counts: dict, features: dict, wall_s: float) -> None:
    from k3dn import files

    clean = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()} for r in rows]
    doc = {"format": FORMAT, "size": list(a.size), "cpus": a.cpu, "host": platform.machine(),
           "executorch_runner_version": a.et_version, "qemu": qemu_version(a.qemu), "tolerance": TOLERANCE,
           "cpu_features": features, "counts": counts, "rows": clean, "wall_s": round(wall_s, 1),
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    files.write_json(a.json, doc)


def qemu_version(qemu: str | None) -> str | None:
    if not qemu:
        return None
    return subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout.splitlines()[0]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
