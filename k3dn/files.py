"""Every file a command writes or reads goes through here: one rule for each of the promises the CLI makes.

- Replace after verify: a new file is written under a temporary name in its own folder (same filesystem, so the
  final rename is atomic), checked, and only then renamed over the old one (`staged`, `write_bytes`). Until that
  rename the old file is untouched, so a failure, an exception or Ctrl-C leaves the previous version in place.
- No leftover temporary files: a temporary name carries the writer's pid (`.<name>.k3dn-<pid>-<token>.tmp<ext>`);
  it is removed on any failure, and one left by a killed process (SIGKILL cannot be caught) is removed by the next
  writer of the same file once that pid no longer runs (`clean_stale`).
- SIGINT-safe commit: the rename (and, for a pair, both renames) runs with Ctrl-C deferred, so an interrupt lands
  either before the new file replaced the old one or after the command's outputs are all in place.
- Inputs are never overwritten: every reader calls `note_input`, and a commit refuses to replace a file this process
  read (by device and inode, so a hard link or a second spelling of the path is caught too); `protect` checks the
  command's flags up front, before any work, and names the two flags.
- The replaced file keeps its permission bits (a 0600 output stays 0600).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

_TEMP_RE = re.compile(r"\.k3dn-(\d+)-[0-9a-f]+\.tmp")
_inputs: dict[tuple[int, int], Path] = {}
_active = False  # inside a command (start_command): inputs are recorded
_committed: list[Path] = []


class OverwriteError(ValueError):
    """A command was about to replace a file it reads."""


# --- inputs ---------------------------------------------------------------------------------------
def note_input(path: str | Path) -> None:
    """Record that the running command reads `path`: no commit may replace it afterwards. Outside a command
    (library use, where reading a file and writing it back may be meant) nothing is recorded."""
    if not _active:
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    _inputs[(st.st_dev, st.st_ino)] = Path(path)


def forget_input(path: str | Path) -> None:
    """Undo `note_input` for a file the command read only to reject it (a stale cache entry it rebuilds), so the
    rebuilt file may replace it. Never for a file whose contents the command used."""
    try:
        st = os.stat(path)
    except OSError:
        return
    _inputs.pop((st.st_dev, st.st_ino), None)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def protect(outputs: Mapping[str, str | Path | None], inputs: Mapping[str, str | Path | None]) -> None:
    """Raise OverwriteError if an output names (or links to) any input; keys are the flags, for the message.

    An output folder (a key ending in 'dir') is refused if it is the folder an input lies in or is itself an input.
    """
    for oflag, out in outputs.items():
        if not out:
            continue
        out = Path(out)
        for iflag, src in inputs.items():
            if not src:
                continue
            src = Path(src)
            clash = _same_file(out, src) or (oflag.endswith("dir") and out.is_dir()
                                             and src.parent.is_dir() and _same_file(out, src.parent))
            if clash:
                raise OverwriteError(f"{oflag} {out} is also {iflag}; that input would be overwritten")


def check_not_input(final: Path) -> None:
    """Raise OverwriteError if `final` is a file this process has read."""
    try:
        st = os.stat(final)
    except OSError:
        return
    src = _inputs.get((st.st_dev, st.st_ino))
    if src is not None:
        raise OverwriteError(f"{final} is an input of this command ({src}); it is not overwritten")


# --- interrupts -------------------------------------------------------------------------------------
@contextlib.contextmanager
def interrupts_deferred(drop: bool = False) -> Iterator[None]:
    """Hold SIGINT for the block. A Ctrl-C that arrived meanwhile is raised when it ends, or dropped if `drop`
    (the block finished the command's last output, so the command completes and reports success)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending and not drop:
        raise KeyboardInterrupt


def committed() -> list[Path]:
    """The outputs committed since the last `start_command` (for the interrupt message)."""
    return list(_committed)


def start_command() -> None:
    """Begin a command (the CLI's entry calls it): from now on the files it reads are protected; the inputs and
    outputs of an earlier command run in this process are forgotten."""
    global _active
    _active = True
    _committed.clear()
    _inputs.clear()


def end_command() -> None:
    """The command finished: stop recording inputs (the CLI's entry calls it on the way out)."""
    global _active
    _active = False
    _inputs.clear()


# --- temporary names --------------------------------------------------------------------------------
def temp_path(final: str | Path) -> Path:
    """A fresh, not-yet-existing hidden name next to `final`, tagged with this process's pid."""
    final = Path(final)
    folder = final.parent if str(final.parent) else Path(".")
    return folder / f".{final.name}.k3dn-{os.getpid()}-{secrets.token_hex(4)}.tmp{final.suffix}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's process, alive
        return True
    return True


def clean_stale(final: str | Path) -> list[Path]:
    """Remove temporary files of `final` left by processes that no longer run; return what was removed."""
    final = Path(final)
    folder = final.parent if str(final.parent) else Path(".")
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    prefix = f".{final.name}."
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        m = _TEMP_RE.match(entry.name[len(prefix) - 1:])
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                remove_path(entry)
                removed.append(entry)
    return removed


def remove_path(path: str | Path) -> None:
    """Delete a file, link or directory tree if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# --- commit --------------------------------------------------------------------------------------------
def _keep_mode(tmp: Path, final: Path) -> None:
    """Give the new file the old one's permission bits (a fresh file gets the umask's default)."""
    try:
        mode = os.stat(final).st_mode & 0o7777
    except OSError:
        if tmp.is_file():
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        return
    if tmp.is_file():
        os.chmod(tmp, mode)


def _replace(tmp: Path, final: Path) -> None:
    check_not_input(final)
    _keep_mode(tmp, final)
    if tmp.is_dir() and final.exists():  # a directory cannot replace a non-empty one in one rename
        old = temp_path(final)
        os.replace(final, old)
        os.replace(tmp, final)
        remove_path(old)
    else:
        os.replace(tmp, final)
    _committed.append(final)


def commit(pairs: Iterable[tuple[str | Path, str | Path]], last: bool = False) -> None:
    """Rename each finished (tmp, final) into place, with Ctrl-C deferred across all of them. `last`: these are the
    command's last outputs, so an interrupt during the renames is dropped and the command completes."""
    pairs = [(Path(t), Path(f)) for t, f in pairs]
    for _, final in pairs:
        check_not_input(final)
    with interrupts_deferred(drop=last):
        for tmp, final in pairs:
            _replace(tmp, final)


def describe_os_error(exc: OSError, path: str | Path) -> str:
    """'<path>: <reason>' for an OSError, naming the path even where the exception does not (ENOSPC)."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on the device"
    return f"{path}: cannot write ({reason})"


@contextlib.contextmanager
def staged(*finals: str | Path, verify: Callable[..., None] | None = None, last: bool = False) -> Iterator:
    """Temporary paths for `finals`, renamed over them only if the block and `verify(*temps)` succeed.

        with staged(out) as tmp:
            tmp.write_bytes(data)

    On any exception (or Ctrl-C) the temporaries are removed and the old files stay. Several finals are committed
    together (an artifact and its sidecar). Stale temporaries of the same finals from dead processes are removed.
    """
    finals = [Path(f) for f in finals]
    for final in finals:
        check_not_input(final)
        clean_stale(final)
    temps = [temp_path(f) for f in finals]
    try:
        yield temps[0] if len(temps) == 1 else temps
        if verify is not None:
            verify(*temps)
        commit(zip(temps, finals, strict=True), last=last)
    finally:
        for tmp in temps:
            remove_path(tmp)


def write_bytes(final: str | Path, data: bytes, last: bool = False) -> Path:
    """Replace `final` with `data` atomically (see `staged`)."""
    write_many({Path(final): data}, last=last)
    return Path(final)


def write_many(files: Mapping[str | Path, bytes], last: bool = False) -> None:
    """Write several files as a unit: all are written before any is renamed into place."""
    with staged(*files, last=last) as temps:
        temps = temps if len(files) > 1 else [temps]
        for tmp, (final, data) in zip(temps, files.items(), strict=True):
            folder = tmp.parent
            if not folder.is_dir():
                raise FileNotFoundError(f"{final}: folder {folder} does not exist")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            except OSError as exc:
                raise PermissionError(describe_os_error(exc, final)) from exc
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            except OSError as exc:
                raise OSError(exc.errno, describe_os_error(exc, final)) from exc


def write_text(final: str | Path, text: str, last: bool = False) -> Path:
    """Replace a text file atomically."""
    return write_bytes(final, text.encode(), last=last)


def write_json(final: str | Path, obj: object, last: bool = False) -> Path:
    """Replace a JSON file atomically (indented, non-JSON values as str)."""
    return write_text(final, json.dumps(obj, indent=2, default=str) + "\n", last=last)


def check_writable_file(path: str | Path, flag: str) -> Path:
    """Before any work: the folder of output `path` exists and is writable, and `path` is not a folder.
    Raises ValueError naming the flag."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder; name a file")
    if path.is_symlink() and not path.exists():
        raise ValueError(f"{flag} {path}: a symbolic link that leads nowhere (or in a loop)")
    if not folder.is_dir():
        raise ValueError(f"{flag} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: folder {folder} is not writable")
    return path


def check_writable_dir(path: str | Path, flag: str, create: bool = True) -> Path:
    """Before any work: `path` is (or, with `create`, becomes) a writable folder. Raises ValueError naming the flag."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path}: exists and is not a folder")
    if not path.exists():
        if not create:
            raise ValueError(f"{flag} {path}: no such folder")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"{flag} {path}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: folder is not writable")
    return path
