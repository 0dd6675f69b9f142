"""Fault injection, `k3dn deblur` and image input: every bad flag, sensor setting and file fails in one line."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from injection import fails, jpeg_bomb, pair, small_weights, temps, tiff_bomb, write_png

from k3dn.cli import main

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    return small_weights(tmp_path_factory.mktemp("faults_w") / "small.safetensors")


@pytest.fixture
def run(tmp_path, weights, capsys):
    """(left, right, out, fail(extra_args, message, **kw)) for one deblur call with the small model."""
    lp, rp = pair(tmp_path)
    out = tmp_path / "out.png"

    def fail(extra: list[str], message: str, base: bool = True, **kw) -> str:
        args = ["deblur", "--backend", "torch", "--weights", weights, "--quiet"]
        args += (["--left", lp, "--right", rp, "--out", str(out)] if base else []) + extra
        kw.setdefault("absent", (out,))
        kw.setdefault("unchanged", (Path(lp), Path(rp)))
        return fails(capsys, args, message, folder=tmp_path, **kw)

    return lp, rp, out, fail


def test_out_naming_any_input_is_refused(run, tmp_path) -> None:
    lp, rp, out, fail = run
    flat_l = write_png(tmp_path / "fl.png", np.full((48, 64, 3), 200, np.uint8))
    flat_r = write_png(tmp_path / "fr.png", np.full((48, 64, 3), 190, np.uint8))
    flats = (Path(flat_l), Path(flat_r))
    fail(["--flat-left", flat_l, "--flat-right", flat_r, "--out", flat_l], "is also --flat-left",
         unchanged=flats, absent=())
    link = tmp_path / "hard.png"
    os.link(flat_r, link)  # another name for the same file
    fail(["--flat-left", flat_l, "--flat-right", flat_r, "--out", str(link)], "is also --flat-right",
         unchanged=flats, absent=())
    sym = tmp_path / "sym.png"
    sym.symlink_to(rp)
    fail(["--out", str(sym)], "is also --right", absent=())
    assert sym.is_symlink()


def test_flag_and_sensor_validation_runs_before_any_work(run, tmp_path) -> None:
    lp, rp, out, fail = run
    for black in ("nan", "inf", "1e30"):
        fail(["--black", black], "--black")
        fail(["--left", lp, "--combined", rp, "--out", str(out), "--black", black], "--black", base=False)
    fail(["--max-pixels", "inf"], "--max-pixels")
    fail(["--max-pixels", "-5"], "--max-pixels")
    fail(["--threads", "-1"], "--threads")
    fail(["--threads", "100000"], "--threads")
    fail(["--tile", "99984"], "--tile")
    fail(["--tile", "40"], "--tile")
    fail(["--black", "900", "--white", "100"], "must be above --black")
    fail(["--bits", "40"], "--bits")
    fail(["--linear"], "--bayer")


def test_sensor_errors_from_the_data_are_one_line(run, tmp_path) -> None:
    lp, rp, out, fail = run
    fail(["--bayer", "RGGB"], "Bayer mosaic is H x W")  # RGB views given as mosaics
    grey = [write_png(tmp_path / f"g{i}.png", np.full((48, 64), 100 + i, np.uint8)) for i in range(2)]
    fail(["--left", grey[0], "--right", grey[1], "--out", str(out), "--bayer", "RGGB", "--black", "200",
          "--white", "100"], "above --black", base=False)
    black = write_png(tmp_path / "black.png", np.zeros((48, 64, 3), np.uint8))
    bright = write_png(tmp_path / "bright.png", np.full((48, 64, 3), 200, np.uint8))
    fail(["--flat-left", black, "--flat-right", black], "black somewhere")
    fail(["--flat-left", bright, "--flat-right", black], "black somewhere")
    fail(["--flat-left", bright], "go together")


def test_bad_image_files(run, tmp_path) -> None:
    lp, rp, out, fail = run
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    fail(["--left", str(loop), "--right", rp, "--out", str(out)], "symbolic link", base=False)
    fail(["--left", lp, "--right", rp, "--out", str(loop)], "symbolic link", base=False, absent=())
    bmp = tmp_path / "x.bmp"
    cv2.imwrite(str(bmp), np.zeros((48, 64, 3), np.uint8))
    fail(["--left", str(bmp), "--right", rp, "--out", str(out)], "not a PNG, TIFF or JPEG", base=False)
    ga = tmp_path / "ga.png"
    cv2.imwrite(str(ga), np.dstack([np.full((48, 64), 90, np.uint8)] * 3 + [np.full((48, 64), 255, np.uint8)]))
    ga.write_bytes(_png_grey_alpha(48, 64))
    fail(["--left", str(ga), "--right", str(ga), "--out", str(out)], "grayscale", base=False)
    big = write_png(tmp_path / "big.png", np.zeros((600, 600, 3), np.uint8))
    line = fail(["--left", big, "--right", big, "--out", str(out), "--max-pixels", "1000"], "360,000 pixels",
                base=False)
    assert "1,000 pixels" in line and "0 MP" not in line


def test_bombs_are_refused_from_their_real_header(run, tmp_path) -> None:
    lp, rp, out, fail = run
    tif = tiff_bomb(tmp_path / "bomb.tif")
    fail(["--left", str(tif), "--right", str(tif), "--out", str(out)], "14500x14500", base=False)
    small_tif = tiff_bomb(tmp_path / "mid.tif", 2000, 2000)
    fail(["--left", str(small_tif), "--right", str(small_tif), "--out", str(out), "--max-pixels", "1e6"],
         "2000x2000", base=False)
    jpg = jpeg_bomb(tmp_path / "photo.png")  # a JPEG under a .png name
    fail(["--left", str(jpg), "--right", str(jpg), "--out", str(out)], "30000x30000", base=False)


def test_nan_output_writes_nothing(run, tmp_path, capsys) -> None:
    from conftest import SMALL_OVERRIDES

    import k3dn

    lp, rp, out, fail = run
    model = k3dn.create("tiny", **SMALL_OVERRIDES)
    with __import__("torch").no_grad():
        next(model.parameters()).fill_(float("nan"))
    nan_w = str(k3dn.save_weights(model, tmp_path / "nan.safetensors"))
    out.write_bytes(b"old result")
    fail(["--model", nan_w], "NaN or Inf", absent=(), unchanged=(Path(lp), Path(rp), out))


def test_old_output_survives_an_interrupt_and_keeps_its_mode(run, tmp_path, capsys, monkeypatch) -> None:
    lp, rp, out, fail = run
    out.write_bytes(b"old result")
    out.chmod(0o600)
    import k3dn.camera.deblurrer as deblurrer

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(deblurrer.Deblurrer, "__call__", interrupted)
        assert main(["deblur", "--left", lp, "--right", rp, "--out", str(out), "--backend", "torch", "--quiet"]) == 130
    assert "no output was replaced" in capsys.readouterr().err
    assert out.read_bytes() == b"old result" and not temps(tmp_path)
    assert main(["deblur", "--left", lp, "--right", rp, "--out", str(out), "--backend", "torch", "--quiet"]) == 0
    assert out.read_bytes() != b"old result" and (out.stat().st_mode & 0o777) == 0o600


def test_ctrl_c_right_after_the_rename_still_reports_success(run, tmp_path, capsys, monkeypatch) -> None:
    """Ctrl-C landing just after --out was replaced: the command completes (exit 0, 'wrote'), never 'interrupted'
    with the file already replaced."""
    import signal

    lp, rp, out, fail = run
    out.write_bytes(b"old result")
    real_replace = os.replace

    def replace_then_ctrl_c(src, dst):
        real_replace(src, dst)
        if Path(dst) == out:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_ctrl_c)
    assert main(["deblur", "--left", lp, "--right", rp, "--out", str(out), "--backend", "torch", "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out and out.read_bytes() != b"old result" and not temps(tmp_path)


def _png_grey_alpha(h: int, w: int) -> bytes:
    """A grey + alpha PNG (colour type 4): OpenCV decodes it as four channels."""
    import struct
    import zlib

    raw = b"".join(b"\0" + bytes([90, 255]) * w for _ in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 4, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
