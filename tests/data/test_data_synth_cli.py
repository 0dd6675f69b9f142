"""`k3dn synth` writes 16-bit DP samples + a preview, rejects bad arguments, and SynthFolder reads it back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from k3dn.cli import main
from k3dn.data import SynthFolder
from k3dn.data.generate import random_sample
from k3dn.io import read_image


def test_synth_writes_samples_and_preview(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    assert main(["synth", "--out", str(out), "--n", "2", "--size", "48x64", "--seed", "5", "--no-progress"]) == 0
    names = sorted(p.name for p in out.iterdir())
    expected = [f"000{i}_{part}" for i in range(2) for part in
                ("depth.npy", "gt.png", "left.png", "meta.json", "right.png")] + ["preview.png"]
    assert names == sorted(expected)
    left, bits = read_image(out / "0000_left.png")
    assert bits == 16 and left.shape == (48, 64, 3)
    assert np.load(out / "0000_depth.npy").shape == (48, 64)
    preview, bits = read_image(out / "preview.png")
    assert bits == 8 and preview.shape == (2 * 48 + 4, 4 * 64 + 3 * 4, 3)
    # Sample i is the training stream's random_sample with generator (seed, i), written losslessly.
    ref = random_sample((48, 64), np.random.default_rng([5, 1]), linear=None)
    assert np.array_equal(read_image(out / "0001_right.png")[0], ref["right"])
    meta = json.loads((out / "0001_meta.json").read_text())
    assert meta["family"] == ref["meta"]["family"] and meta["index"] == 1

    folder = SynthFolder(out, as_numpy=True)
    assert len(folder) == 2
    item = folder[1]
    assert np.array_equal(item["sharp"], ref["sharp"]) and np.array_equal(item["left"], ref["left"])
    np.testing.assert_allclose(item["radius"], ref["radius"], atol=1e-5)
    assert np.array_equal(item["in_focus"], ref["in_focus"])
    tensors = SynthFolder(out)[0]
    assert tensors["left"].shape == (3, 48, 64) and tensors["in_focus"].shape == (1, 48, 64)


@pytest.mark.parametrize("args, message", [
    (["--n", "0"], "--n must be a positive"),
    (["--n", "-3"], "--n must be a positive"),
    (["--n", "1", "--size", "16x64"], "at least 32"),
    (["--n", "1", "--size", "big"], "expected HxW"),
    (["--n", "1", "--sources", "imagenet"], "--sources"),
])
def test_bad_arguments_fail_cleanly_and_write_nothing(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    out = tmp_path / "never"
    assert main(["synth", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("k3dn synth: error:") and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_unwritable_output_is_a_clear_error(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["synth", "--out", str(blocker / "sub"), "--n", "1"]) == 2
    assert "cannot create folder" in capsys.readouterr().err
    assert main(["synth", "--out", str(blocker), "--n", "1"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_console_entry_point_help() -> None:
    out = subprocess.run([sys.executable, "-m", "k3dn.cli", "synth", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "--size" in out.stdout and "--seed" in out.stdout
