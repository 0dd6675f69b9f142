"""Image I/O: lossless 16-bit round trips, RGB order, clear errors, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from k3dn import io as kio
from k3dn.io import read_image, write_image


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_round_trip_is_lossless(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 65536, size=(37, 53, 3), dtype=np.uint16)
    codes[0, 0] = (0, 65535, 1)
    image = codes.astype(np.float32) / 65535
    path = write_image(tmp_path / f"a{suffix}", image, bits=16)
    back, bits = read_image(path)
    assert bits == 16 and back.dtype == np.float32 and back.shape == (37, 53, 3)
    assert np.array_equal(back, image), "float -> 16 bit -> float must be exact"
    assert np.array_equal(np.round(back * 65535).astype(np.uint16), codes)
    write_image(tmp_path / f"b{suffix}", back, bits=16)
    assert np.array_equal(read_image(tmp_path / f"b{suffix}")[0], back)


def test_8_bit_and_rgb_order(tmp_path: Path) -> None:
    red = np.zeros((4, 5, 3), np.float32)
    red[..., 0] = 1.0
    path = write_image(tmp_path / "red.png", red)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8 and raw[0, 0].tolist() == [0, 0, 255], "files are standard (BGR on disk)"
    back, bits = read_image(path)
    assert bits == 8 and np.array_equal(back, red)
    values = np.linspace(0, 1, 256, dtype=np.float32)
    ramp = np.stack([np.tile(values, (2, 1))] * 3, axis=2)
    assert np.array_equal(read_image(write_image(tmp_path / "ramp.png", ramp))[0], ramp)


def test_grayscale_rejected_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((6, 7), 40000, np.uint16))
    with pytest.raises(ValueError, match=r"grey\.png.*grayscale"):
        read_image(path)
    image, bits = read_image(path, allow_gray=True)
    assert bits == 16 and image.shape == (6, 7, 3) and np.allclose(image, 40000 / 65535)


def test_alpha_channel_is_dropped(tmp_path: Path) -> None:
    bgra = np.zeros((3, 3, 4), np.uint8)
    bgra[..., 2], bgra[..., 3] = 255, 128
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    image, _ = read_image(tmp_path / "rgba.png")
    assert image.shape == (3, 3, 3) and image[0, 0].tolist() == [1.0, 0.0, 0.0]


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        read_image(tmp_path / "nothere.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"text\.png.*not a readable image"):
        read_image(tmp_path / "text.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.png"):
        read_image(tmp_path / "empty.png")
    cv2.imwrite(str(tmp_path / "float.tif"), np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"float\.tif.*float32"):
        read_image(tmp_path / "float.tif")


def test_write_errors_and_no_partial_files(tmp_path: Path) -> None:
    image = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(FileNotFoundError, match="missing"):
        write_image(tmp_path / "missing" / "a.png", image)
    with pytest.raises(ValueError, match="NaN"):
        write_image(tmp_path / "nan.png", np.full((4, 4, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="extension"):
        write_image(tmp_path / "a.jpg", image)
    with pytest.raises(ValueError, match="bits"):
        write_image(tmp_path / "a.png", image, bits=12)
    with pytest.raises(ValueError, match="shape"):
        write_image(tmp_path / "a.png", np.zeros((4, 4, 2), np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_write_is_atomic_when_the_rename_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_image(tmp_path / "keep.png", np.full((4, 4, 3), 0.5, np.float32))
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(kio.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_image(path, np.zeros((4, 4, 3), np.float32))
    assert path.read_bytes() == before, "the old file must survive a failed write"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"], "no temporary file may be left behind"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="cannot write"):
            write_image(folder / "a.png", np.zeros((2, 2, 3), np.float32))
    finally:
        folder.chmod(0o700)


def test_written_files_get_normal_permissions(tmp_path: Path) -> None:
    path = write_image(tmp_path / "perm.png", np.zeros((2, 2, 3), np.float32))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
