"""`k3dn bench` usage errors: one `k3dn bench: error:` line and exit code 2, before anything is built or timed."""

from __future__ import annotations

import pytest

from k3dn.cli import main


@pytest.mark.parametrize(("argv", "message"), [
    (["--runs", "5"], "--runs must be >= 10"),
    (["--size", "100x100"], "multiples of 16"),
    (["--size", "big"], "--size"),
    (["--rows", "nope"], "--rows: unknown"),
    (["--threads", "0"], "--threads must be between 1 and"),
    (["--artifacts", "/nonexistent/k3dn"], "not a folder"),
    (["--weights", "/nonexistent/w.safetensors"], "no such file"),
])
def test_usage_errors(argv, message, capsys, tmp_path) -> None:
    rc = main(["bench", "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("k3dn bench: error:") and message in err[0]


def test_unwritable_out(capsys, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    rc = main(["bench", "--quick", "--out", str(blocker / "sub"), "--no-probes", "--rows", "coreml-fp16"])
    err = capsys.readouterr().err
    assert rc == 2 and "k3dn bench: error: --out" in err


def test_list_rows(capsys) -> None:
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    assert "torch-eager" in out and "onnx-int8" in out and "torch-compile" in out
