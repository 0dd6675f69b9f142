"""Fault injection, the other commands and the Python API: export, eval, bench, quantize, train."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from injection import PYTHON, fails, pair, run_limited, small_weights, tiff_bomb

from k3dn.camera import Deblurrer
from k3dn.camera.runners import TorchRunner
from k3dn.errors import PipelineError

pytestmark = pytest.mark.faults


def test_export_refuses_before_creating_anything(tmp_path, capsys) -> None:
    out = tmp_path / "artifacts"
    fails(capsys, ["export", "--backend", "onnx", "--size", "100000x100000", "--out", str(out)], "4096",
          absent=(out,))
    afile = tmp_path / "a_file"
    afile.write_text("keep")
    fails(capsys, ["export", "--backend", "onnx", "--size", "64x64", "--out", str(afile)], "not a folder",
          unchanged=(afile,))
    fails(capsys, ["export", "--backend", "onnx", "--size", "64x64", "--out", str(out), "--weights",
                   str(tmp_path / "none.safetensors")], "not found", absent=(out,))


def test_eval_and_bench_check_sizes_and_outputs_first(tmp_path, capsys) -> None:
    start = time.perf_counter()
    fails(capsys, ["eval", "--json", "/nonexistent_dir/x.json", "--n", "2", "--size", "64"], "does not exist")
    fails(capsys, ["eval", "--size", "100000", "--n", "2"], "4096")
    fails(capsys, ["eval", "--json", str(tmp_path), "--n", "2"], "is a folder")
    out = tmp_path / "bench"
    fails(capsys, ["bench", "--quick", "--size", "100000x100000", "--out", str(out)], "4096", absent=(out,))
    fails(capsys, ["bench", "--quick", "--threads", "-1", "--out", str(out)], "--threads", absent=(out,))
    assert time.perf_counter() - start < 30, "refused up front, not after the work"


def test_quantize_refusal_leaves_no_folder(tmp_path, capsys) -> None:
    out = tmp_path / "q"
    fails(capsys, ["quantize", "--backend", "onnx", "--size", "64x64", "--out", str(out), "--calib-set",
                   str(tmp_path / "none.npz")], "--calib-set", absent=(out,))
    fails(capsys, ["quantize", "--backend", "onnx", "--size", "8192x64", "--out", str(out)], "4096", absent=(out,))
    fails(capsys, ["quantize", "--backend", "onnx", "--size", "64x64", "--out", str(out), "--numerics",
                   "/nonexistent_dir/n.json"], "does not exist", absent=(out,))


def test_read_only_cache_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    pytest.importorskip("onnxruntime", reason="ONNX toolchain not installed (pip install -e '.[export]')")
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    monkeypatch.setenv("K3DN_CACHE", str(blocker / "cache"))  # no folder can be made there, even by root
    lp, rp = pair(tmp_path, size=(64, 96))
    w = small_weights(tmp_path / "w.safetensors")
    fails(capsys, ["deblur", "--left", lp, "--right", rp, "--out", str(tmp_path / "o.png"), "--backend", "onnx",
                   "--tile", "64", "--weights", w, "--quiet"], "cache", absent=(tmp_path / "o.png",))


def test_train_resume_from_a_damaged_checkpoint(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    args = ["train", "--out", str(run), "--resume", "--steps", "1", "--batch", "1", "--patch", "32", "--val-every",
            "0", "--diag-every", "0", "--workers", "0"]
    ckpt = run / "last.pt"
    for content, message in ((b"\x80\x02garbage", "truncated or corrupt"), (None, "does not hold this run's state")):
        if content is None:
            torch.save({"step": 3}, ckpt)
        else:
            ckpt.write_bytes(content)
        fails(capsys, args, message, unchanged=(ckpt,))


def test_resume_drops_log_records_after_its_checkpoint(tmp_path) -> None:
    from k3dn.training.trainer import trim_log

    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s, "loss": 1.0}) + "\n" for s in (100, 200, 300)) + '{"step": 40')
    trim_log(log, 200)
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [100, 200]


def test_python_api_raises_pipeline_errors(tmp_path) -> None:
    from conftest import SMALL_OVERRIDES

    import k3dn

    runner = TorchRunner(k3dn.create("tiny", **SMALL_OVERRIDES))
    deblur = Deblurrer(runner, tile=32, overlap=0)
    frame = np.zeros((40, 40, 3), np.uint16)
    for kwargs in ({"black": "abc"}, {"white": [1, 2]}, {"gain_left": "x"}, {"gain_left": float("nan")},
                   {"gain_right": float("inf")}, {"gain_left": -1.0}, {"gain_left": np.full((40, 40), np.nan)},
                   {"over_white": "maybe"}):
        with pytest.raises(PipelineError):
            deblur(frame, frame, **kwargs)
    runner.close()
    with pytest.raises(PipelineError, match="closed"):
        deblur(frame, frame)


def test_auto_runs_torch_for_a_strip(tmp_path) -> None:
    from k3dn.commands.runner_choice import open_cli_runner

    weights = small_weights(tmp_path / "w.safetensors")
    assert open_cli_runner(None, weights, "auto", "fp32", None, None, frame=(32, 20000)).name == "torch"


def test_bombs_stay_within_memory_and_time(tmp_path) -> None:
    """The CLI itself on a TIFF bomb, under a 3 GB address-space cap: refused, one line, no output."""
    bomb = tiff_bomb(tmp_path / "bomb.tif")
    out = tmp_path / "o.png"
    code = ("import sys\nfrom k3dn.cli import main\n"
            f"sys.exit(main(['deblur', '--left', {str(bomb)!r}, '--right', {str(bomb)!r}, '--out', {str(out)!r},"
            " '--backend', 'torch']))\n")
    proc = run_limited(code, mem_gb=3.0, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "14500x14500" in lines[0], proc.stderr
    assert not out.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="the console script's stderr is checked on Linux")
def test_the_console_error_line_has_no_noise(tmp_path) -> None:
    """Through the installed entry point, as a user runs it: nothing but the one line on stderr."""
    import subprocess

    lp, rp = pair(tmp_path)
    proc = subprocess.run([PYTHON, "-m", "k3dn", "deblur", "--left", lp, "--right", rp, "--out", lp], text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        f"k3dn deblur: error: --out {lp} is also --left; that input would be overwritten"], proc.stderr
    assert Path(lp).stat().st_size > 0


@pytest.mark.slow  # calibrates and exports an int8 artifact (~100 s CPU)
def test_auto_int8_takes_the_fastest_installed_int8_artifact(tmp_path, monkeypatch) -> None:
    """`--backend auto --precision int8` no longer stops: it runs the first installed int8 runtime in AUTO_ORDER,
    even for a frame that fits one tile (PyTorch has no int8 path)."""
    import importlib.util

    from k3dn.backends import AUTO_ORDER, BACKENDS
    from k3dn.commands.runner_choice import open_cli_runner

    want = next((b for b in AUTO_ORDER["int8"] if importlib.util.find_spec(BACKENDS[b].runtime_module)), None)
    if want is None:
        pytest.skip("no int8 runtime installed")
    monkeypatch.setenv("K3DN_CACHE", str(tmp_path / "cache"))
    weights = small_weights(tmp_path / "w.safetensors")
    with open_cli_runner(None, weights, "auto", "int8", None, 64, frame=(64, 64)) as runner:
        assert (runner.name, runner.precision) == (BACKENDS[want].runtime, "int8")
