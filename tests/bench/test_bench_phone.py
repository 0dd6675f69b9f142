"""Parsers of the on-phone runners' output (ExecuTorch executor_runner, LiteRT benchmark_model, getprop),
on text in the shape those tools print, and the adb step skipping with a reason when no device is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from k3dn.bench import phone

EXECUTOR_RUNNER_LOG = """\
I 00:00:00.000612 executorch:cpuinfo_utils.cpp:71] Reading file /sys/devices/soc0/image_version
I 00:00:00.001020 executorch:executor_runner.cpp:229] Resetting threadpool with num threads = 4
I 00:00:00.004311 executorch:executor_runner.cpp:301] Model file k3dn_tiny_256x256_fp32.pte is loaded.
I 00:00:00.004350 executorch:executor_runner.cpp:310] Using method forward
I 00:00:00.031007 executorch:executor_runner.cpp:420] Model loaded in 26.402100 ms.
I 00:00:00.140131 executorch:executor_runner.cpp:640] Iteration 1 of 4: 109.001000 ms
I 00:00:00.231411 executorch:executor_runner.cpp:640] Iteration 2 of 4: 91.250000 ms
I 00:00:00.321877 executorch:executor_runner.cpp:640] Iteration 3 of 4: 90.400000 ms
I 00:00:00.413005 executorch:executor_runner.cpp:640] Iteration 4 of 4: 91.100000 ms
I 00:00:00.413050 executorch:executor_runner.cpp:650] Model executed successfully 4 time(s) in 381.751000 ms.
I 00:00:00.413071 executorch:executor_runner.cpp:655] 1 outputs:
"""

OLD_EXECUTOR_RUNNER_LOG = """\
I 00:00:00.002000 executorch:executor_runner.cpp:229] Resetting threadpool with num threads = 2
I 00:00:00.530000 executorch:executor_runner.cpp:290] Model executed successfully 5 time(s) in 500.000000 ms.
"""

BENCHMARK_MODEL_LOG = """\
STARTING!
Log parameter values verbosely: [0]
Num threads: [4]
Graph: [/data/local/tmp/k3dn/k3dn_tiny_256x256_int8.tflite]
#threads used for CPU inference: [4]
Loaded model /data/local/tmp/k3dn/k3dn_tiny_256x256_int8.tflite
INFO: Initialized TensorFlow Lite runtime.
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
The input model file size (MB): 3.30
Initialized session in 31.5ms.
Running benchmark for at least 2 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=9 first=70110 curr=55302 min=54870 max=70110 avg=57208.4 std=4612
Running benchmark for at least 10 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count=18 first=55120 curr=55480 min=54601 max=58210 avg=55530.2 std=902
Inference timings in us: Init: 31500, First inference: 70110, Warmup (avg): 57208.4, Inference (avg): 55530.2
Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual \
memory footprint of the model at runtime. Take the information at your discretion.
Memory footprint delta from the start of the tool (MB): init=12.1 overall=48.75
Overall peak memory footprint (MB) via periodic monitoring: 61.2
"""

GETPROP = """\
[ro.build.version.release]: [14]
[ro.product.cpu.abi]: [arm64-v8a]
[ro.product.manufacturer]: [Google]
[ro.product.model]: [Pixel 8]
[ro.soc.manufacturer]: [Google]
[ro.soc.model]: [Tensor G3]
"""


def test_executor_runner_log_with_iterations() -> None:
    p = phone.parse_executor_runner(EXECUTOR_RUNNER_LOG)
    assert p["num_executions"] == 4 and p["per_run"] and p["threads"] == 4
    assert p["runs_ms"] == [109.001, 91.25, 90.4, 91.1]
    assert p["load_ms"] == pytest.approx(26.4021) and p["total_ms"] == pytest.approx(381.751)
    t = phone.timing_from_executor_runner(p, warmup=1)
    assert t.first_ms == 109.001 and t.runs_ms == [90.4, 91.1] and t.threads == 4


def test_executor_runner_log_without_iterations_uses_the_mean() -> None:
    p = phone.parse_executor_runner(OLD_EXECUTOR_RUNNER_LOG)
    assert not p["per_run"] and p["runs_ms"] == [100.0] * 5 and p["load_ms"] is None and p["threads"] == 2


def test_executor_runner_failure_is_an_error() -> None:
    with pytest.raises(ValueError, match="Model executed successfully"):
        phone.parse_executor_runner("E 00:00:00.1 executorch:method.cpp:1] Execution failed with 0x12")


def test_benchmark_model_log() -> None:
    p = phone.parse_benchmark_model(BENCHMARK_MODEL_LOG)
    assert p["init_ms"] == pytest.approx(31.5) and p["first_ms"] == pytest.approx(70.11)
    assert p["warmup_avg_ms"] == pytest.approx(57.2084) and p["avg_ms"] == pytest.approx(55.5302)
    assert p["count"] == 18 and p["min_ms"] == pytest.approx(54.601) and p["max_ms"] == pytest.approx(58.21)
    assert p["std_ms"] == pytest.approx(0.902) and p["threads"] == 4 and p["peak_memory_mb"] == pytest.approx(61.2)
    t = phone.timing_from_benchmark_model(p, warmup=2)
    assert t.median_ms == pytest.approx(55.5302) and t.peak_rss_mb == pytest.approx(61.2)


def test_benchmark_model_percentiles_when_printed() -> None:
    text = BENCHMARK_MODEL_LOG.replace("avg=55530.2 std=902", "avg=55530.2 std=902 p5=54700 median=55400 p95=57900")
    p = phone.parse_benchmark_model(text)
    assert p["median_ms"] == pytest.approx(55.4) and p["p5_ms"] == pytest.approx(54.7)
    assert phone.timing_from_benchmark_model(p, 2).median_ms == pytest.approx(55.4)


def test_benchmark_model_without_timings_is_an_error() -> None:
    with pytest.raises(ValueError, match="Inference timings"):
        phone.parse_benchmark_model("STARTING!\nFailed to allocate tensors!\n")


def test_getprop_and_device_info() -> None:
    info = phone.device_info(phone.parse_getprop(GETPROP), "f0", 4)
    assert info["name"] == "Pixel 8" and info["chipset"] == "Tensor G3" and info["os"] == "14"
    assert info["cpu_mask"] == "f0" and info["threads"] == 4 and info["abi"] == "arm64-v8a"


def test_no_device_skips_every_phone_row_with_a_reason(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(phone, "attached", lambda serial: f"no adb device {serial!r} attached")
    settings = phone.PhoneSettings("emulator-5554", threads=2, rows=["executorch-fp32", "tflite-int8", "onnx-fp32"],
                                   runs=10, warmup=1)
    rows = phone.phone_rows(settings, [(256, 256)], tmp_path, 254.0, progress=lambda _: None)
    assert [r.row for r in rows] == ["executorch-fp32", "tflite-int8"]
    assert all(r.status == "skipped" and "no adb device" in r.reason for r in rows)
