"""`k3dn deblur` as a camera-pipeline stage: raw DP layouts, sensor levels, batch folders, exported artifacts, and
the bad inputs found in the field (huge headers, truncated files, --out naming an input, mismatched artifacts)."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL

import k3dn
from k3dn.camera import raw
from k3dn.cli import main
from k3dn.io import encode_samples, read_samples
from k3dn.network.weights_io import save_weights


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    torch.manual_seed(0)
    model = k3dn.create("tiny", **SMALL)
    torch.nn.init.normal_(model.decoder.out.weight, std=0.05)
    return str(save_weights(model, tmp_path_factory.mktemp("w") / "small.safetensors"))


def _write(path, samples) -> str:
    path.write_bytes(encode_samples(samples, path.suffix))
    return str(path)


def _views(shape=(48, 64), dtype=np.uint16, seed=0):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    left = (rng.random((*shape, 3)) * top * 0.8).astype(dtype)
    return left, np.roll(left, 1, axis=1)


def _deblur(args, weights) -> int:
    return main(["deblur", "--backend", "torch", "--weights", weights, "--quiet", *args])


def test_layouts_give_the_same_result(tmp_path, weights) -> None:
    left, right = _views()
    planes = tmp_path / "planes.png"
    assert _deblur(["--left", _write(tmp_path / "l.png", left), "--right", _write(tmp_path / "r.png", right),
                    "--out", str(planes)], weights) == 0
    inter = tmp_path / "inter.png"
    assert _deblur(["--interleaved", _write(tmp_path / "i.png", raw.interleave_columns(left, right)),
                    "--out", str(inter)], weights) == 0
    combined, sub = raw.combine(left // 2, right // 2)
    comb = tmp_path / "comb.png"
    assert _deblur(["--combined", _write(tmp_path / "c.png", combined), "--left", _write(tmp_path / "s.png", sub),
                    "--out", str(comb)], weights) == 0
    ref, bits = read_samples(planes)
    assert bits == 16 and ref.shape == left.shape
    assert np.array_equal(read_samples(inter)[0], ref)
    assert read_samples(comb)[0].shape == ref.shape


def test_bits_black_level_and_over_white(tmp_path, weights, capsys) -> None:
    left, right = (512 + v // 32 for v in _views())  # 12-bit data with black 512 in 16-bit words
    lp, rp = _write(tmp_path / "l.png", left), _write(tmp_path / "r.png", right)
    out = tmp_path / "o.png"
    assert _deblur(["--left", lp, "--right", rp, "--out", str(out), "--bits", "12", "--black", "512"], weights) == 0
    got = read_samples(out)[0]
    assert got.min() >= 512 and got.max() <= 4095
    hot = left.copy()
    hot[0, 0] = 60000
    out2 = tmp_path / "o2.png"
    assert _deblur(["--left", _write(tmp_path / "hot.png", hot), "--right", rp, "--out", str(out2), "--bits", "12",
                    "--over-white", "error"], weights) == 2
    assert "above the white level" in capsys.readouterr().err and not out2.exists()


def test_batch_folders(tmp_path, weights) -> None:
    ldir, rdir, odir = (tmp_path / d for d in ("L", "R", "O"))
    for d in (ldir, rdir, odir):
        d.mkdir()
    for k in range(3):
        left, right = _views(seed=k)
        _write(ldir / f"f{k}.png", left)
        _write(rdir / f"f{k}.png", right)
    assert _deblur(["--left-dir", str(ldir), "--right-dir", str(rdir), "--out-dir", str(odir)], weights) == 0
    assert sorted(p.name for p in odir.iterdir()) == ["f0.png", "f1.png", "f2.png"]


def test_exported_artifact_through_the_cli(tmp_path, weights, capsys) -> None:
    pytest.importorskip("onnxruntime", reason="ONNX toolchain not installed (pip install -e '.[export]')")
    pytest.importorskip("onnxsim", reason="onnxsim not installed (pip install -e '.[export]')")
    left, right = _views((80, 100))
    lp, rp = _write(tmp_path / "l.png", left), _write(tmp_path / "r.png", right)
    out = tmp_path / "onnx.png"
    args = ["deblur", "--left", lp, "--right", rp, "--weights", weights, "--quiet"]
    assert main([*args, "--out", str(out), "--backend", "onnx", "--tile", "64"]) == 0
    assert "onnxruntime fp32" in capsys.readouterr().out
    torch_out = tmp_path / "torch.png"
    assert main([*args, "--out", str(torch_out), "--backend", "torch", "--tile", "64", "--overlap", "16"]) == 0
    diff = np.abs(read_samples(out)[0].astype(int) - read_samples(torch_out)[0].astype(int))
    assert diff.max() <= 2, "fp32 ONNX and torch agree to within 16-bit rounding"
    cached = next(Path(os.environ["K3DN_CACHE"]).rglob("k3dn_tiny_64x64_fp32.onnx"))  # what --backend onnx exported
    # --model with a different --weights: the sidecar names other weights
    torch.manual_seed(1)
    other = str(save_weights(k3dn.create("tiny", **SMALL), tmp_path / "other.safetensors"))
    bad = tmp_path / "bad.png"
    assert main(["deblur", "--left", lp, "--right", rp, "--out", str(bad), "--model", str(cached),
                 "--weights", other]) == 2
    assert "exported from weights" in capsys.readouterr().err and not bad.exists()
    assert main(["deblur", "--left", lp, "--right", rp, "--out", str(bad), "--model", str(cached),
                 "--tile", "128"]) == 2
    assert "takes exactly 64x64" in capsys.readouterr().err and not bad.exists()
    assert main(["deblur", "--left", lp, "--right", rp, "--out", str(bad), "--model", str(cached),
                 "--tile", "auto"]) == 2
    assert "artifact's own size" in capsys.readouterr().err and not bad.exists()
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"garbage")
    assert main(["deblur", "--left", lp, "--right", rp, "--out", str(bad), "--model", str(corrupt)]) == 2
    assert "unverified" in capsys.readouterr().err and not bad.exists()
    tampered = tmp_path / cached.name
    shutil.copy(cached, tampered)
    shutil.copy(cached.with_name(cached.name + ".json"), tmp_path / (cached.name + ".json"))
    with open(tampered, "ab") as f:
        f.write(b"x")
    assert main(["deblur", "--left", lp, "--right", rp, "--out", str(bad), "--model", str(tampered)]) == 2
    assert "changed or replaced after export" in capsys.readouterr().err and not bad.exists()


def test_tile_auto_fits_the_frame(tmp_path, weights, capsys) -> None:
    left, right = _views((200, 330))
    lp, rp = _write(tmp_path / "l.png", left), _write(tmp_path / "r.png", right)
    out = tmp_path / "auto.png"
    assert _deblur(["--left", lp, "--right", rp, "--out", str(out), "--tile", "auto", "--overlap", "16"], weights) == 0
    assert "1 tile(s) of 336x336" in capsys.readouterr().out and out.exists()
    with pytest.raises(SystemExit) as exc:
        _deblur(["--left", lp, "--right", rp, "--out", str(out), "--tile", "big"], weights)
    assert exc.value.code == 2 and "number of pixels or auto" in capsys.readouterr().err


def _huge_png(path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_field_bad_inputs(tmp_path, weights, capsys) -> None:
    left, right = _views()
    lp, rp = _write(tmp_path / "l.png", left), _write(tmp_path / "r.png", right)
    out = tmp_path / "o.png"

    def fails(args, message, target=out):
        assert _deblur(args, weights) == 2
        err = capsys.readouterr().err
        assert err.startswith("k3dn deblur: error:") and message in err, err
        assert not target.exists()

    huge = tmp_path / "huge.png"
    _huge_png(huge)
    fails(["--left", str(huge), "--right", rp, "--out", str(out)], "above the limit")
    truncated = tmp_path / "trunc.png"
    truncated.write_bytes((tmp_path / "l.png").read_bytes()[:400])
    fails(["--left", str(truncated), "--right", rp, "--out", str(out)], "truncated")
    before = (tmp_path / "l.png").read_bytes()
    fails(["--left", lp, "--right", rp, "--out", lp], "is also --left; that input would be overwritten",
          target=tmp_path / "never")
    assert (tmp_path / "l.png").read_bytes() == before, "the left view must not be overwritten"
    gl = _write(tmp_path / "gl.png", left[..., 0])
    gr = _write(tmp_path / "gr.png", right[..., 0])
    fails(["--left", gl, "--right", gr, "--out", str(out)], "--gray")
    assert _deblur(["--left", gl, "--right", gr, "--out", str(out), "--gray"], weights) == 0
    assert read_samples(out)[0].shape == left.shape[:2]
    out.unlink()
    fails(["--left", gl, "--right", rp, "--out", str(out)], "grayscale (one channel) but right is RGB")
    one = _write(tmp_path / "one.png", left[:1, :1])
    fails(["--left", one, "--right", one, "--out", str(out)], "at least 32x32")
    fails(["--left", lp, "--right", rp, "--out", str(out), "--black", "1,2"], "one value or three")
    fails(["--left", lp, "--right", rp, "--out", str(out), "--tile", "100"], "multiple of")
    fails(["--interleaved", _write(tmp_path / "odd.png", left[:, :63]), "--out", str(out)], "even width")
