"""A plain (non-editable) install carries what k3dn reads at run time and no generic top-level packages.

The wheel check builds a wheel of this checkout, installs it into a fresh venv and runs there, away from the
source tree: the published int8 mix (calibration/numerics.json, package data of k3dn.calibration) must be
found and must reach an int8 artifact built in that venv. The fresh venv sees this venv's site-packages through
a .pth line (appended after its own, so the installed k3dn wins) instead of downloading torch again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"export": "k3dn.export", "calibration": "k3dn.calibration"}


def _package_folders() -> set[str]:
    """Every importable package in the checkout, by the name it installs under."""
    names = set()
    for init in ROOT.glob("*/**/__init__.py"):
        parts = init.parent.relative_to(ROOT).parts
        if parts[0] in MAPPED:
            names.add(".".join((MAPPED[parts[0]], *parts[1:])))
        elif parts[0] == "k3dn":
            names.add(".".join(parts))
    return names


def test_pyproject_lists_every_package() -> None:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(tool["packages"]) == _package_folders()
    assert tool["package-dir"]["k3dn.export"] == "export"
    assert tool["package-dir"]["k3dn.calibration"] == "calibration"
    assert "numerics.json" in tool["package-data"]["k3dn.calibration"]


CHECK = textwrap.dedent("""
    import importlib.util, json, sys, tempfile
    from pathlib import Path
    import k3dn
    from k3dn.artifacts import NUMERICS, cached_artifact, recorded_float_layers
    from k3dn.export.weights import model_and_source
    from k3dn.camera.runners import read_sidecar

    src = Path(sys.argv[1])
    assert src not in Path(k3dn.__file__).resolve().parents, k3dn.__file__
    assert importlib.util.find_spec("export") is None and importlib.util.find_spec("calibration") is None
    published = json.loads(NUMERICS.read_text())
    _, info = model_and_source("tiny", None)
    row = next(r for r in published["rows"] if r["backend"] == "onnx" and r["precision"] == "int8")
    assert recorded_float_layers("onnx", "int8", info["state_sha256"]) == row["float_layers"]
    path = cached_artifact("onnx", "int8", (64, 64), cache_dir=Path(tempfile.mkdtemp()), progress=lambda m: None)
    built = read_sidecar(path, verify=True)["quantization"]["float_layers"]
    print(json.dumps({"k3dn": k3dn.__file__, "published": row["float_layers"], "built": built}))
""")


@pytest.mark.slow
def test_wheel_install_carries_the_published_int8_mix(tmp_path) -> None:
    pytest.importorskip("onnxruntime", reason="the artifact check builds an ONNX Runtime int8 artifact ([export])")
    # build from a copy of the checkout's files: an in-tree build/ keeps modules that were since moved away
    src = tmp_path / "src"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(src)], check=True)
    wheel = next(wheels.glob("k3dn-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    ours = sysconfig.get_paths()["purelib"]
    (purelib / "zz_k3dn_test_deps.pth").write_text(ours + "\n")
    # install with this venv's pip into the fresh one's site-packages (no index, no dependencies)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(purelib), str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([py, "-c", CHECK, str(ROOT)], cwd=tmp_path, env=env, check=True, capture_output=True,
                         text=True, timeout=900)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(result["k3dn"]).is_relative_to(purelib)
    assert sorted(result["built"]) == sorted(result["published"]) and result["published"]
