"""Image files: read 8/16-bit PNG and TIFF as float RGB, write them losslessly and atomically.

Pixels are H x W x 3 float32 in [0, 1], RGB order. 16-bit files round-trip exactly: a value
k / 65535 is written as k and read back as the same float32. OpenCV does the encoding (Pillow cannot
write 16-bit RGB). Every error names the file and the problem.
"""

from __future__ import annotations

import os
import secrets
import struct
from pathlib import Path

import cv2
import numpy as np

WRITE_SUFFIXES = (".png", ".tif", ".tiff")
# Largest image read (pixels per view), checked from the file header before anything is decoded: a 12 MP DP
# pair needs 12e6; 200e6 leaves room for 100+ MP sensors while refusing headers that claim absurd sizes.
MAX_PIXELS = 200_000_000

try:  # OpenCV logs decoder errors (e.g. a truncated TIFF) to stderr itself; ours carry the file name instead
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
except AttributeError:  # pragma: no cover - builds without the logging module
    pass


class GrayscaleImage(ValueError):
    """A one-channel image where RGB was required."""


def _tiff_dimensions(head: bytes) -> tuple[int, int] | None:
    order = "<" if head[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", head[4:8])
    if offset + 2 > len(head):
        return None
    (count,) = struct.unpack(order + "H", head[offset:offset + 2])
    dims = {}
    for k in range(count):
        entry = head[offset + 2 + 12 * k: offset + 14 + 12 * k]
        if len(entry) < 12:
            break
        tag, typ = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):
            dims[tag] = struct.unpack(order + ("H" if typ == 3 else "I"), entry[8:10] if typ == 3 else entry[8:12])[0]
    return (dims[256], dims[257]) if len(dims) == 2 else None


def image_dimensions(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from a PNG or TIFF header without decoding, None for other formats or odd headers."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        try:
            return _tiff_dimensions(head)
        except struct.error:
            return None
    return None


def check_pixels(path: Path, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse, from the header alone, an image larger than max_pixels."""
    dims = image_dimensions(path)
    if dims is not None and dims[0] * dims[1] > max_pixels:
        raise ValueError(f"{path}: header says {dims[0]}x{dims[1]} = {dims[0] * dims[1] / 1e6:.0f} MP, above the "
                         f"limit of {max_pixels / 1e6:.0f} MP per view")


def read_samples(path: str | Path, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, int]:
    """Read an image file's samples as they are stored: (H x W or H x W x 3 RGB uint8/uint16, bit depth 8 or 16).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: larger than `max_pixels` (checked from the header first), not a decodable image (unknown
            format, corrupt or truncated data), or an unsupported sample type or channel count.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        check_pixels(path, max_pixels)
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    try:
        raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    except cv2.error as exc:
        raise ValueError(f"{path}: not a readable image ({str(exc).strip().splitlines()[-1][:120]})") from exc
    if raw is None:
        raise ValueError(f"{path}: not a readable image (unknown format, corrupt or truncated data)")
    if raw.dtype == np.uint8:
        bits = 8
    elif raw.dtype == np.uint16:
        bits = 16
    else:
        raise ValueError(f"{path}: unsupported sample type {raw.dtype}; only 8- and 16-bit integer images are read")
    if raw.ndim == 3 and raw.shape[2] in (1, 2):  # grey, grey + alpha
        raw = raw[..., 0]
    if raw.ndim == 3 and raw.shape[2] == 4:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    elif raw.ndim == 3 and raw.shape[2] == 3:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    elif raw.ndim == 3:
        raise ValueError(f"{path}: unsupported channel count {raw.shape[2]}")
    return raw, bits


def read_image(path: str | Path, allow_gray: bool = False) -> tuple[np.ndarray, int]:
    """Read an image file as (H x W x 3 float32 RGB in [0, 1], bit depth 8 or 16).

    Args:
        path: PNG or TIFF (JPEG also works, 8 bit).
        allow_gray: replicate a single-channel image to three channels instead of rejecting it.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a decodable image, an unsupported sample type (e.g. float TIFF), too large, or grey
            without `allow_gray` (GrayscaleImage).
    """
    raw, bits = read_samples(path)
    if raw.ndim == 2:
        if not allow_gray:
            raise GrayscaleImage(f"{path}: grayscale image; an RGB image is required (pass allow_gray=True to "
                                 "replicate)")
        raw = np.repeat(raw[..., None], 3, axis=2)
    return raw.astype(np.float32) / np.float32(255.0 if bits == 8 else 65535.0), bits


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


def encode_samples(samples: np.ndarray, suffix: str = ".png", name: str = "image") -> bytes:
    """Encode H x W x 3 (or H x W) uint8/uint16 samples losslessly as PNG or TIFF bytes, as they are."""
    suffix = suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ValueError(f"{name}: unsupported extension {suffix!r}; use one of {WRITE_SUFFIXES}")
    if samples.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{name}: samples must be uint8 or uint16, got {samples.dtype}")
    if samples.ndim == 3 and samples.shape[2] == 3:
        samples = cv2.cvtColor(np.ascontiguousarray(samples), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png" if suffix == ".png" else ".tiff", samples)
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
