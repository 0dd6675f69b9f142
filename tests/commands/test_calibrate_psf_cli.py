"""`k3dn calibrate-psf` fits real-style pairs from their views alone and rejects bad input cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import k3dn.io
from k3dn.cli import main
from k3dn.data.photos import bundled_scene
from k3dn.data.simulate import simulate_pair


@pytest.fixture(scope="module")
def pair_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pairs")
    for i, radius in enumerate((3.0, -3.0)):
        image, _ = bundled_scene((160, 160), np.random.default_rng(i))
        sim = simulate_pair(image, np.full((160, 160), radius, np.float32), "disc", seed=i, noise=(1e-4, 1e-3))
        k3dn.io.write_image(folder / f"cam_{i:02d}_left.png", sim["left"], 16)
        k3dn.io.write_image(folder / f"cam_{i:02d}_right.png", sim["right"], 16)
        (folder / f"cam_{i:02d}_gt.png").write_bytes(b"not an image: a calibration must never open it")
    return folder


def test_calibrate_writes_parameters_from_views_only(pair_folder: Path, tmp_path: Path, monkeypatch) -> None:
    opened = []
    real_read = k3dn.io.read_image
    monkeypatch.setattr(k3dn.io, "read_image", lambda path, *a, **k: (opened.append(Path(path).name),
                                                                        real_read(path, *a, **k))[1])
    out, fig = tmp_path / "cam.json", tmp_path / "cam.png"
    assert main(["calibrate-psf", str(pair_folder), "--camera-kind", "dslr", "--out", str(out),
                 "--figure", str(fig), "--max-radius", "6", "--block", "64"]) == 0
    assert sorted(opened) == ["cam_00_left.png", "cam_00_right.png", "cam_01_left.png", "cam_01_right.png"]
    doc = json.loads(out.read_text())
    assert doc["camera_kind"] == "dslr" and doc["pairs"] == ["cam_00", "cam_01"]
    assert set(doc["shape"]) == {"ramp", "chord", "apod", "asym"}
    # Blur radius 3 px on both sides of the focal plane: the fitted blocks say so.
    assert doc["fit"]["median_abs_radius"] == pytest.approx(3.0, rel=0.2)
    assert fig.stat().st_size > 0


@pytest.mark.parametrize("args, message", [
    (["{missing}", "--out", "{tmp}/a.json"], "no such file or folder"),
    (["{tmp}", "--out", "{tmp}/a.json"], "no NAME_left/NAME_right pairs"),
    (["{pairs}", "--out", "{tmp}/a.txt"], "must end in .json"),
    (["{pairs}", "--out", "{tmp}/nofolder/a.json"], "does not exist"),
    (["{pairs}", "--out", "{tmp}/a.json", "--block", "8"], "--block"),
    (["{pairs}", "--out", "{tmp}/a.json", "--prefix", "zzz"], "starting with 'zzz'"),
])
def test_calibrate_rejects_bad_input(args, message, pair_folder: Path, tmp_path: Path, capsys) -> None:
    argv = [a.format(missing=tmp_path / "missing", tmp=tmp_path, pairs=pair_folder) for a in args]
    assert main(["calibrate-psf", *argv, "--camera-kind", "phone"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in err and "Traceback" not in err
    assert not (tmp_path / "a.json").exists()


def test_calibrate_rejects_unreadable_view(tmp_path: Path, capsys) -> None:
    (tmp_path / "x_left.png").write_bytes(b"garbage")
    (tmp_path / "x_right.png").write_bytes(b"garbage")
    assert main(["calibrate-psf", str(tmp_path / "x_left.png"), "--camera-kind", "phone",
                 "--out", str(tmp_path / "a.json")]) == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "a.json").exists()
