"""Image files: read 8/16-bit PNG and TIFF as float RGB, write them losslessly and atomically.

Pixels are H x W x 3 float32 in [0, 1], RGB order. 16-bit files round-trip exactly: a value
k / 65535 is written as k and read back as the same float32. OpenCV does the encoding (Pillow cannot
write 16-bit RGB). Every error names the file and the problem.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import cv2
import numpy as np

WRITE_SUFFIXES = (".png", ".tif", ".tiff")


def read_image(path: str | Path, allow_gray: bool = False) -> tuple[np.ndarray, int]:
    """Read an image file as (H x W x 3 float32 RGB in [0, 1], bit depth 8 or 16).

    Args:
        path: PNG or TIFF (JPEG also works, 8 bit).
        allow_gray: replicate a single-channel image to three channels instead of rejecting it.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a decodable image, an unsupported sample type (e.g. float TIFF), or grey
            without `allow_gray`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if raw is None:
        raise ValueError(f"{path}: not a readable image (unknown format or corrupt data)")
    if raw.dtype == np.uint8:
        bits, scale = 8, 255.0
    elif raw.dtype == np.uint16:
        bits, scale = 16, 65535.0
    else:
        raise ValueError(f"{path}: unsupported sample type {raw.dtype}; only 8- and 16-bit integer images are read")
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    if raw.ndim == 3 and raw.shape[2] == 2:  # grey + alpha
        raw = raw[..., 0]
    if raw.ndim == 2:
        if not allow_gray:
            raise ValueError(f"{path}: grayscale image; an RGB image is required (pass allow_gray=True to replicate)")
        raw = np.repeat(raw[..., None], 3, axis=2)
    elif raw.shape[2] == 4:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    elif raw.shape[2] == 3:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    else:
        raise ValueError(f"{path}: unsupported channel count {raw.shape[2]}")
    return raw.astype(np.float32) / np.float32(scale), bits


def to_integer(image: np.ndarray, bits: int) -> np.ndarray:
    """float [0, 1] -> uint8/uint16 (rounded, clipped)."""
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    levels = 255.0 if bits == 8 else 65535.0
    out = np.round(np.clip(np.asarray(image, np.float64), 0.0, 1.0) * levels)
    return out.astype(np.uint8 if bits == 8 else np.uint16)


def _write_temp(path: Path, data: bytes) -> Path:
    """Write `data` to a fresh temporary file next to `path`; return its path."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"{path}: folder {folder} does not exist")
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        # os.open with mode 0o666 honours the umask (mkstemp would leave the file 0600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise PermissionError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and os.replace.

    Readers never see a partial file, and on failure nothing is left behind.
    """
    atomic_write_many({Path(path): data})


def encode_image(image: np.ndarray, bits: int = 8, suffix: str = ".png", name: str = "image") -> bytes:
    """Encode an H x W x 3 (or H x W) float image in [0, 1] as 8/16-bit PNG or TIFF bytes."""
    suffix = suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ValueError(f"{name}: unsupported extension {suffix!r}; use one of {WRITE_SUFFIXES}")
    image = np.asarray(image)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        raise ValueError(f"{name}: expected an H x W x 3 or H x W image, got shape {image.shape}")
    if image.dtype.kind == "f" and not np.all(np.isfinite(image)):
        raise ValueError(f"{name}: image contains NaN or inf")
    data = to_integer(image, bits)
    if data.ndim == 3 and data.shape[2] == 3:
        data = cv2.cvtColor(data, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png" if suffix == ".png" else ".tiff", data)
    if not ok:
        raise ValueError(f"{name}: OpenCV could not encode the image")
    return encoded.tobytes()


def atomic_write_many(files: dict[Path, bytes]) -> None:
    """Write several files as a unit: every temporary file is written before any is renamed into place,
    so a failure while writing (disk full, permissions, interrupt) leaves none of them behind."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            staged.append((_write_temp(Path(path), data), Path(path)))
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise


def write_image(path: str | Path, image: np.ndarray, bits: int = 8) -> Path:
    """Write an H x W x 3 (or H x W) float image in [0, 1] as an 8- or 16-bit PNG or TIFF, atomically.

    Raises:
        ValueError: bad shape, NaN values, unsupported extension or bit depth.
        FileNotFoundError / PermissionError: the folder is missing or not writable.
    """
    path = Path(path)
    encoded = encode_image(image, bits, path.suffix, str(path))
    atomic_write_bytes(path, encoded)
    return path
