"""An artifact's sidecar JSON (`<artifact>.json`), read with its types checked before anything trusts it.

The sidecar is what vouches for an artifact's bytes, so its checksum cannot be switched off: a sidecar without a
well-formed `sha256` and `bytes`, or an artifact with no sidecar at all, is *unverified*. Callers that verify
(`k3dn deblur --model`, the artifact cache) refuse it (the cache exports it anew); only code that has just written
the bytes itself (the export pipeline's parity check on its temporary file) reads without verifying.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .. import files
from ..errors import ArtifactError

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Largest sidecar read: real ones are a few KB (a sensitivity table makes them tens of KB).
MAX_SIDECAR_BYTES = 1 << 22
# Fields whose type is checked when present: (type, description). Others are carried as they are.
_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "format": (str, "a string"),
    "artifact": (str, "a string"),
    "backend": (str, "a string"),
    "precision": (str, "a string"),
    "weights": (dict, "an object"),
    "model": (dict, "an object"),
    "io": (dict, "an object"),
    "quantization": ((dict, type(None)), "an object or null"),
    "delegation": ((dict, type(None)), "an object or null"),
}


def path_sha256(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, sorted)."""
    h = hashlib.sha256()
    members = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in members:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def sidecar_path(path: str | Path) -> Path:
    """Where `k3dn export` / `k3dn quantize` put an artifact's JSON: `<artifact>.json`."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _check_types(meta: dict, side: Path) -> None:
    for key, (kind, what) in _TYPES.items():
        if key in meta and not isinstance(meta[key], kind):
            raise ArtifactError(f"{side}: '{key}' must be {what}, got {type(meta[key]).__name__}")
    size = meta.get("input_size")
    if size is not None and not (isinstance(size, list) and len(size) == 2
                                 and all(type(v) is int and 0 < v <= 1 << 16 for v in size)):
        raise ArtifactError(f"{side}: 'input_size' must be [H, W] of positive integers, got {size!r}")
    weights = meta.get("weights") or {}
    if "state_sha256" in weights and not (isinstance(weights["state_sha256"], str)
                                          and _SHA256.fullmatch(weights["state_sha256"])):
        raise ArtifactError(f"{side}: 'weights.state_sha256' must be 64 hex digits")
    if "sha256" in meta and not (isinstance(meta["sha256"], str) and _SHA256.fullmatch(meta["sha256"])):
        raise ArtifactError(f"{side}: 'sha256' must be 64 lower-case hex digits, got {meta['sha256']!r}")
    delegation = meta.get("delegation") or {}
    if delegation and not (isinstance(delegation.get("delegate"), str)
                           and all(type(delegation.get(k)) is int and delegation[k] >= 0
                                   for k in ("delegate_calls", "ops_outside"))
                           and isinstance(delegation.get("outside"), list)
                           and all(isinstance(op, str) for op in delegation["outside"])):
        raise ArtifactError(f"{side}: 'delegation' must hold delegate (a string), delegate_calls and ops_outside "
                            "(non-negative integers) and outside (a list of op names)")
    if "bytes" in meta and not (type(meta["bytes"]) is int and meta["bytes"] >= 0):
        raise ArtifactError(f"{side}: 'bytes' must be a non-negative integer, got {meta['bytes']!r}")


def read_sidecar(path: str | Path, verify: bool = True) -> dict:
    """The artifact's sidecar as a type-checked dict ({} when there is none and `verify` is False).

    With `verify`, the sidecar must exist and carry `sha256` and `bytes`, and the artifact must match both.
    Raises ArtifactError naming the problem."""
    path = Path(path)
    side = sidecar_path(path)
    if not side.is_file():
        if verify:
            raise ArtifactError(f"{path}: no sidecar {side.name}, so nothing vouches for its bytes (unverified); "
                                "export it with k3dn export or k3dn quantize, which write one")
        return {}
    try:
        if side.stat().st_size > MAX_SIDECAR_BYTES:
            raise ArtifactError(f"{side}: {side.stat().st_size} bytes, too large for a sidecar")
        meta = json.loads(side.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise ArtifactError(f"{side}: unreadable sidecar JSON ({str(exc)[:160]})") from None
    if not isinstance(meta, dict):
        raise ArtifactError(f"{side}: sidecar JSON is not an object")
    _check_types(meta, side)
    files.note_input(side)
    if verify:
        if not meta.get("sha256") or "bytes" not in meta:
            raise ArtifactError(f"{side}: this sidecar has no sha256 and bytes to check {path.name} against "
                                "(unverified); re-export it")
        size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*")
                                                               if p.is_file())
        if size != meta["bytes"]:
            raise ArtifactError(f"{path}: {size} bytes, its sidecar {side.name} says {meta['bytes']} (the artifact "
                                "was changed or replaced after export); re-export it")
        if path_sha256(path) != meta["sha256"]:
            raise ArtifactError(f"{path}: its sha256 does not match {side.name} (the artifact was changed or "
                                "replaced after export); re-export it")
    return meta
