"""Image files: read 8/16-bit PNG and TIFF as float RGB, write them losslessly and atomically.

Pixels are H x W x 3 float32 in [0, 1], RGB order. 16-bit files round-trip exactly: a value
k / 65535 is written as k and read back as the same float32. OpenCV does the encoding (Pillow cannot
write 16-bit RGB). Every error names the file and the problem.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path
from typing import BinaryIO, NamedTuple

# OpenCV's own decoder limit, a second guard behind the header check (read by OpenCV at its first decode)
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(1 << 28))

import cv2
import numpy as np

from . import files

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


class ImageHeader(NamedTuple):
    """What a file's header says it decodes to."""

    format: str
    width: int
    height: int
    channels: int  # 0 where the header does not say (JPEG's component count is read, TIFF's defaults to 1)
    gray: bool  # the samples are grey (PNG colour types 0 and 4, one-component JPEG/TIFF)


# Longest walk through a header before giving up: a JPEG's markers before its frame header (EXIF, ICC profiles,
# thumbnails) and a TIFF directory's entries.
_JPEG_SCAN_BYTES = 1 << 24
_TIFF_MAX_ENTRIES = 4096


def _png_header(f: BinaryIO) -> ImageHeader:
    head = f.read(33)
    if len(head) < 33 or head[12:16] != b"IHDR":
        raise ValueError("PNG without an IHDR chunk")
    width, height, _depth, colour = struct.unpack(">IIBB", head[16:26])
    channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(colour)
    if channels is None:
        raise ValueError(f"PNG colour type {colour} is not valid")
    return ImageHeader("PNG", width, height, channels, colour in (0, 4))


def _jpeg_header(f: BinaryIO) -> ImageHeader:
    f.seek(2)
    while f.tell() < _JPEG_SCAN_BYTES:  # segment by segment: each starts with 0xFF and a marker
        byte = f.read(1)
        if not byte:
            break
        if byte != b"\xff":
            raise ValueError("corrupt JPEG: data where a marker was expected before the frame header")
        marker = f.read(1)
        while marker == b"\xff":  # fill bytes
            marker = f.read(1)
        if not marker:
            break
        code = marker[0]
        if code in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers
            continue
        if code in (0xD9, 0xDA):  # end of image, start of scan: no frame header came first
            break
        (length,) = struct.unpack(">H", f.read(2))
        if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            seg = f.read(6)
            _precision, height, width, comps = struct.unpack(">BHHB", seg)
            return ImageHeader("JPEG", width, height, comps, comps == 1)
        f.seek(length - 2, 1)
    raise ValueError("JPEG without a frame header")


def _tiff_header(f: BinaryIO, order: str) -> ImageHeader:
    """The first directory, wherever in the file it sits (libtiff and OpenCV write it after the image data)."""
    f.seek(4)
    (offset,) = struct.unpack(order + "I", f.read(4))
    f.seek(offset)
    (count,) = struct.unpack(order + "H", f.read(2))
    if count > _TIFF_MAX_ENTRIES:
        raise ValueError(f"TIFF directory claims {count} entries")
    table = f.read(12 * count)
    if len(table) < 12 * count:
        raise ValueError("truncated TIFF directory")
    tags: dict[int, int] = {}
    for k in range(count):
        tag, typ, n = struct.unpack(order + "HHI", table[12 * k:12 * k + 8])
        if tag in (256, 257, 277) and n == 1 and typ in (3, 4):
            raw = table[12 * k + 8:12 * k + 10] if typ == 3 else table[12 * k + 8:12 * k + 12]
            tags[tag] = struct.unpack(order + ("H" if typ == 3 else "I"), raw)[0]
    if 256 not in tags or 257 not in tags:
        raise ValueError("TIFF directory without its width and height")
    spp = tags.get(277, 1)
    return ImageHeader("TIFF", tags[256], tags[257], spp, spp in (1, 2))


def read_header(path: str | Path) -> ImageHeader:
    """The format and size a PNG, JPEG or TIFF file decodes to, from its real header (wherever it sits), without
    decoding. Raises ValueError for any other format or a header it cannot read: nothing is decoded unvouched."""
    with open(path, "rb") as f:
        magic = f.read(8)
        try:
            if magic == b"\x89PNG\r\n\x1a\n":
                f.seek(0)
                return _png_header(f)
            if magic[:3] == b"\xff\xd8\xff":
                return _jpeg_header(f)
            if magic[:4] in (b"II*\x00", b"MM\x00*"):
                return _tiff_header(f, "<" if magic[:2] == b"II" else ">")
        except struct.error:
            raise ValueError(f"{path}: truncated or corrupt image header") from None
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    if magic[:4] in (b"II+\x00", b"MM\x00+"):
        raise ValueError(f"{path}: BigTIFF is not read; use PNG or a classic TIFF")
    raise ValueError(f"{path}: not a readable image: not a PNG, TIFF or JPEG file (other formats are not read: "
                     "their size cannot be checked before decoding)")


def image_dimensions(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or TIFF header without decoding, None if the header cannot be read."""
    try:
        h = read_header(path)
    except (ValueError, OSError):
        return None
    return h.width, h.height


def _mp(pixels: float) -> str:
    return f"{pixels / 1e6:.1f} MP" if pixels >= 1e6 else f"{int(pixels):,} pixels"


def check_max_pixels(max_pixels: object) -> int:
    """A per-view pixel limit as an int; ValueError unless it is a finite number >= 1."""
    try:
        value = float(max_pixels)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"max_pixels must be a number, got {max_pixels!r}") from None
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"max_pixels must be a finite number >= 1, got {max_pixels!r}")
    return int(value)


def check_pixels(path: Path, max_pixels: int = MAX_PIXELS) -> ImageHeader:
    """Refuse, from the header alone, an image larger than max_pixels (or one whose header cannot be read)."""
    header = read_header(path)
    n = header.width * header.height
    if n > max_pixels or header.width == 0 or header.height == 0:
        raise ValueError(f"{path}: header says {header.width}x{header.height} = {_mp(n)}, "
                         + ("an empty image" if n == 0 else f"above the limit of {_mp(max_pixels)} per view"))
    return header


def read_samples(path: str | Path, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, int]:
    """Read an image file's samples as they are stored: (H x W or H x W x 3 RGB uint8/uint16, bit depth 8 or 16).

    Only PNG, TIFF and JPEG are read, and only after their real header showed a size within `max_pixels`; what was
    decoded must have the header's size. A grey + alpha image reads as grey (the alpha is dropped).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: larger than `max_pixels` (checked from the header first), another format, not a decodable
            image (corrupt or truncated data), or an unsupported sample type or channel count.
    """
    path = Path(path)
    max_pixels = check_max_pixels(max_pixels)
    if not path.is_file():
        if os.path.lexists(path) and not path.exists():
            raise ValueError(f"{path}: a symbolic link that leads nowhere (or in a loop)")
        raise FileNotFoundError(f"{path}: no such file")
    try:
        header = check_pixels(path, max_pixels)
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    files.note_input(path)
    try:
        raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    except cv2.error as exc:
        raise ValueError(f"{path}: not a readable image ({str(exc).strip().splitlines()[-1][:120]})") from exc
    if raw is None:
        raise ValueError(f"{path}: not a readable image (unknown format, corrupt or truncated data)")
    if raw.shape[:2] != (header.height, header.width):
        raise ValueError(f"{path}: decoded {raw.shape[1]}x{raw.shape[0]} but its header says "
                         f"{header.width}x{header.height}")
    if raw.dtype == np.uint8:
        bits = 8
    elif raw.dtype == np.uint16:
        bits = 16
    else:
        raise ValueError(f"{path}: unsupported sample type {raw.dtype}; only 8- and 16-bit integer images are read")
    if raw.ndim == 3 and (raw.shape[2] in (1, 2) or header.gray):  # grey, grey + alpha (OpenCV expands to BGRA)
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


def atomic_write_bytes(path: str | Path, data: bytes, last: bool = False) -> None:
    """Write `data` to `path` via a temporary file in the same folder and a rename (`k3dn.files`): readers never
    see a partial file, a failure leaves the old file and no temporary one, and an input is never replaced."""
    files.write_bytes(path, data, last=last)


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


def atomic_write_many(data: dict[Path, bytes]) -> None:
    """Write several files as a unit: every temporary file is written before any is renamed into place,
    so a failure while writing (disk full, permissions, interrupt) leaves none of them behind."""
    files.write_many(data)


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
