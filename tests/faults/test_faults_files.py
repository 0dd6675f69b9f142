"""Fault injection, the one write path (k3dn.files): kills, interrupts, full disks, inputs and permissions."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from injection import temps

from k3dn import files

pytestmark = pytest.mark.faults

# The subprocesses load files.py alone (standard library only), so each starts in milliseconds, not seconds.
LOAD = (f"import importlib.util, sys, time, signal; spec = importlib.util.spec_from_file_location('files', "
        f"{str(Path(files.__file__))!r}); files = importlib.util.module_from_spec(spec); "
        "spec.loader.exec_module(files)\n")


def _writer(final: Path, ready: Path, extra: str = "") -> subprocess.Popen:
    """A process that stages `final`, writes half of it, signals `ready` and waits to be killed. Ctrl-C raises
    KeyboardInterrupt in it even when this test runs as a background job (which inherits SIGINT ignored)."""
    code = LOAD + extra + ("import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
                           f"with files.staged({str(final)!r}) as tmp:\n"
                           "    tmp.write_bytes(b'half')\n"
                           f"    open({str(ready)!r}, 'w').close()\n"
                           "    time.sleep(60)\n")
    return subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    for _ in range(600):
        if path.exists():
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    pytest.fail("writer never got ready")


def test_kill_9_leaves_the_old_file_and_the_next_writer_removes_the_stale_temp(tmp_path) -> None:
    final = tmp_path / "model.onnx"
    final.write_bytes(b"old artifact")
    ready = tmp_path / "ready"
    proc = _writer(final, ready)
    _wait_for(ready, proc)
    proc.kill()
    proc.wait()
    assert final.read_bytes() == b"old artifact"
    stale = temps(tmp_path)
    assert len(stale) == 1 and stale[0].name.startswith(".model.onnx.k3dn-") and str(proc.pid) in stale[0].name
    files.write_bytes(final, b"new artifact")
    assert final.read_bytes() == b"new artifact" and not temps(tmp_path)


def test_sigint_while_writing_keeps_the_old_file_and_no_temp(tmp_path) -> None:
    final = tmp_path / "out.png"
    final.write_bytes(b"old")
    ready = tmp_path / "ready"
    proc = _writer(final, ready)
    _wait_for(ready, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert final.read_bytes() == b"old" and not temps(tmp_path)


def test_sigint_during_the_commit_is_deferred_past_the_rename(tmp_path) -> None:
    final = tmp_path / "out.png"
    final.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with files.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            files.write_bytes(final, b"new")
    assert final.read_bytes() == b"new", "the interrupt landed after the rename, not inside it"
    with files.interrupts_deferred(drop=True):  # the command's last output: it completes and reports success
        os.kill(os.getpid(), signal.SIGINT)
    final.write_bytes(b"old")

    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C right after the rename, before the command reports

    os.replace = replace_then_interrupt
    try:
        files.start_command()
        files.write_bytes(final, b"last", last=True)  # no KeyboardInterrupt: the command goes on to report success
    finally:
        os.replace = real_replace
        files.end_command()
    assert final.read_bytes() == b"last" and files.committed() == [final]


def test_a_file_read_is_never_replaced(tmp_path) -> None:
    files.start_command()
    src = tmp_path / "flat.png"
    src.write_bytes(b"input")
    alias = tmp_path / "alias.png"
    os.link(src, alias)
    files.note_input(src)
    for target in (src, alias):
        with pytest.raises(files.OverwriteError, match="is an input"):
            files.write_bytes(target, b"output")
    assert src.read_bytes() == b"input" and not temps(tmp_path)
    with pytest.raises(files.OverwriteError, match="--out .* is also --flat-left"):
        files.protect({"--out": alias}, {"--left": tmp_path / "l.png", "--flat-left": src})
    files.end_command()
    files.write_bytes(alias, b"library use")  # outside a command, reading a file and writing it back is allowed
    assert alias.read_bytes() == b"library use"


def test_full_disk_names_the_path_and_leaves_nothing(tmp_path, monkeypatch) -> None:
    final = tmp_path / "out.png"
    final.write_bytes(b"old")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fd, mode):
            self.f = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", Full)
    with pytest.raises(OSError, match=f"{final}: cannot write \\(no space left on the device\\)"):
        files.write_bytes(final, b"new")
    monkeypatch.undo()
    assert final.read_bytes() == b"old" and not temps(tmp_path)


def test_permissions_are_kept_and_new_files_follow_the_umask(tmp_path) -> None:
    final = tmp_path / "private.png"
    final.write_bytes(b"old")
    final.chmod(0o600)
    files.write_bytes(final, b"new")
    assert final.stat().st_mode & 0o777 == 0o600
    fresh = tmp_path / "fresh.png"
    umask = os.umask(0o022)
    try:
        files.write_bytes(fresh, b"x")
    finally:
        os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o644


def test_a_failed_verify_keeps_the_old_pair(tmp_path) -> None:
    art, side = tmp_path / "a.pte", tmp_path / "a.pte.json"
    art.write_bytes(b"old")
    side.write_text("{}")

    def refuse(tmp_art, tmp_side):
        raise ValueError("parity failed")

    with pytest.raises(ValueError, match="parity failed"):
        with files.staged(art, side, verify=refuse) as (ta, ts):
            ta.write_bytes(b"new")
            ts.write_text('{"new": 1}')
    assert art.read_bytes() == b"old" and side.read_text() == "{}" and not temps(tmp_path)
