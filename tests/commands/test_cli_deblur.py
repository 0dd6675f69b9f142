"""`k3dn deblur`: bit depth preserved, any size, and each bad input gets a clear error, exit 2 and no output."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL

import k3dn
from k3dn.cli import main
from k3dn.io import read_image, write_image
from k3dn.network.weights_io import save_weights


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    torch.manual_seed(0)
    model = k3dn.create("tiny", **SMALL)
    torch.nn.init.normal_(model.decoder.out.weight, std=0.05)  # not the identity, so the output differs
    return str(save_weights(model, tmp_path_factory.mktemp("w") / "small.safetensors"))


def pair(tmp_path, shape=(50, 70), bits=8, name="x"):
    rng = np.random.default_rng(0)
    img = rng.random((*shape, 3)).astype(np.float32)
    paths = []
    for view, data in (("left", img), ("right", np.roll(img, 1, axis=1))):
        paths.append(str(write_image(tmp_path / f"{name}_{view}.png", data, bits=bits)))
    return paths


@pytest.mark.parametrize("bits", [8, 16])
def test_deblur_keeps_size_and_bit_depth(tmp_path, weights, bits) -> None:
    left, right = pair(tmp_path, bits=bits)
    out = tmp_path / "sharp.png"
    assert main(["deblur", "--left", left, "--right", right, "--out", str(out), "--weights", weights]) == 0
    img, out_bits = read_image(out)
    assert img.shape == (50, 70, 3) and out_bits == bits


def test_large_frame_is_tiled(tmp_path, weights, capsys) -> None:
    left, right = pair(tmp_path, shape=(150, 230))
    out = tmp_path / "big.tif"
    assert main(["deblur", "--left", left, "--right", right, "--out", str(out), "--weights", weights,
                 "--tile", "96", "--overlap", "16", "--backend", "torch"]) == 0
    assert read_image(out)[0].shape == (150, 230, 3)


def _fails(args: list[str], capsys, message: str, out) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not out.exists(), "no output may be left behind after an error"
    assert not list(out.parent.glob(f".{out.name}*")), "no temp file may be left behind"


def test_errors(tmp_path, weights, capsys) -> None:
    left, right = pair(tmp_path)
    out = tmp_path / "o.png"
    base = ["deblur", "--weights", weights, "--out", str(out)]
    _fails(base + ["--left", str(tmp_path / "missing.png"), "--right", right], capsys, "no such file", out)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    _fails(base + ["--left", str(junk), "--right", right], capsys, "junk.png", out)
    other_left, _ = pair(tmp_path, shape=(50, 72), name="wide")
    _fails(base + ["--left", other_left, "--right", right], capsys, "but right is", out)
    l16, _ = pair(tmp_path, bits=16, name="deep")
    _fails(base + ["--left", l16, "--right", right], capsys, "is 16-bit but", out)
    tiny_l, tiny_r = pair(tmp_path, shape=(20, 20), name="tiny")
    _fails(base + ["--left", tiny_l, "--right", tiny_r], capsys, "at least 32x32", out)
    import cv2

    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.zeros((50, 70), np.uint8))
    _fails(base + ["--left", str(gray), "--right", right], capsys, "gray", out)
    bad_weights = tmp_path / "bad.safetensors"
    bad_weights.write_bytes(b"garbage")
    _fails(["deblur", "--weights", str(bad_weights), "--out", str(out), "--left", left, "--right", right], capsys,
           "corrupt", out)
    nodir = tmp_path / "nodir" / "o.png"
    _fails(["deblur", "--weights", weights, "--out", str(nodir), "--left", left, "--right", right], capsys,
           "does not exist", nodir)
    _fails(["deblur", "--weights", weights, "--out", str(tmp_path / "o.jpg"), "--left", left, "--right", right],
           capsys, "unsupported extension", tmp_path / "o.jpg")


def test_unwritable_output_dir(tmp_path, weights, capsys) -> None:
    import os
    from pathlib import Path

    left, right = pair(tmp_path)
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        _fails(["deblur", "--weights", weights, "--out", str(ro / "o.png"), "--left", left, "--right", right],
               capsys, "not writable", ro / "o.png")
    # Root ignores directory permissions; /proc refuses new files even for root.
    target = Path("/proc/k3dn_test_output.png")
    _fails(["deblur", "--weights", weights, "--out", str(target), "--left", left, "--right", right], capsys,
           "cannot write", target)
