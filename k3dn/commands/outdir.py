"""Output folders of the commands that write many files (`k3dn synth`, `k3dn quantize`)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError


def prepare_out(path: str | Path) -> Path:
    """Create the folder if needed and prove it is writable, before any work is done; UserError if not."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: not writable, cannot create folder ({exc.strerror or exc})") from None
    probe = out / f".k3dn-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"--out {out}: folder is not writable ({exc.strerror or exc})") from None
    return out
