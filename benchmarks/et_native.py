"""Fetch ExecuTorch's native C++ runtime (``lib/`` and ``include/`` of its PyPI wheel) into a cached folder.

The one place both native builds get it from: ``android_demo/run-tests.sh`` (the JNI shim, x86-64) and
``benchmarks/arm_parity.sh`` (the C++ runner, x86-64 and aarch64). The folder appears whole or not at all: the
wheel is unpacked beside it and renamed into place only once ``lib/libexecutorch.so`` is there.

Usage: python benchmarks/et_native.py OUT VERSION [pip download options, e.g. --platform manylinux_2_28_aarch64]
Exit 0 when OUT/lib/libexecutorch.so exists afterwards; 1 otherwise, with the reason as the last line on stderr.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MEMBERS = ("executorch/lib/", "executorch/include/")


def fetch(out: Path, version: str, pip_args: list[str]) -> str | None:
    """Unpack executorch==version's native runtime into `out`; None when done, else why not."""
    if (out / "lib" / "libexecutorch.so").is_file():
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        wheels = Path(tmp) / "wheels"
        pip = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                              *pip_args, f"executorch=={version}", "-d", str(wheels)], capture_output=True, text=True)
        found = sorted(wheels.glob(f"executorch-{version}-*.whl"))
        if pip.returncode != 0 or not found:
            lines = (pip.stderr or pip.stdout).strip().splitlines()
            return lines[-1] if lines else f"pip download found no executorch-{version} wheel"
        with zipfile.ZipFile(found[-1]) as z:
            z.extractall(Path(tmp) / "x", [n for n in z.namelist() if n.startswith(MEMBERS)])
        unpacked = Path(tmp) / "x" / "executorch"
        if not (unpacked / "lib" / "libexecutorch.so").is_file():
            return f"{found[-1].name} ships no lib/libexecutorch.so"
        shutil.rmtree(out, ignore_errors=True)  # a partial folder of an older layout
        unpacked.rename(out)
    return None


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    reason = fetch(Path(argv[0]), argv[1], argv[2:])
    if reason:
        print(reason, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
