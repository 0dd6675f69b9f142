"""The backend table (k3dn.backends) is the one vocabulary: the runners, exporters and int8 recipes agree with it."""

from __future__ import annotations

import importlib

import pytest

from k3dn.backends import AUTO_ORDER, BACKENDS, EXPORT_BACKENDS, QUANT_BACKENDS, TORCH, by_name, by_suffix
from k3dn.camera import runners


@pytest.mark.parametrize("name", EXPORT_BACKENDS)
def test_each_backend_agrees_with_its_runner_exporter_and_recipes(name) -> None:
    from k3dn.calibration.pipeline import RECIPES

    b = BACKENDS[name]
    runner = getattr(runners, b.runner)
    assert issubclass(runner, runners.Runner) and runners._BY_SUFFIX[f".{b.suffix}"] is runner
    exporter = importlib.import_module(f"k3dn.export.{b.module}")
    assert exporter.SUFFIX == b.suffix and exporter.PRECISION in b.precisions
    assert set(getattr(exporter, "PRECISIONS", ())) <= set(b.precisions)
    assert set(RECIPES) == set(QUANT_BACKENDS)
    for recipe in RECIPES.get(name, ()):
        assert recipe.backend == name and recipe.suffix == b.suffix and recipe.precision in b.precisions


def test_names_suffixes_and_auto_order() -> None:
    every = (*BACKENDS.values(), TORCH)
    assert len({b.suffix for b in every}) == len({b.runtime for b in every}) == len(every)
    assert set(AUTO_ORDER) <= set(EXPORT_BACKENDS) and "coreml" not in AUTO_ORDER
    assert by_suffix(".ONNX") is BACKENDS["onnx"] and by_suffix("safetensors") is TORCH and by_suffix(".x") is None
    assert set(runners.SUFFIXES) == {f".{b.suffix}" for b in every}
    # The GPU/NPU delegates' .pte files are named for their delegate and run by the ExecuTorch runner.
    assert by_name("k3dn_tiny_64x64_fp16.vulkan.pte") is BACKENDS["executorch-vulkan"]
    assert by_name("A.COREML.PTE") is BACKENDS["executorch-coreml"] and by_name("a_fp32.pte") is BACKENDS["executorch"]
    assert by_name("a.mlpackage") is BACKENDS["coreml"] and by_name("a.bin") is None
    assert {b.delegate for b in BACKENDS.values() if b.runner == "ExecuTorchRunner"} == {
        "XnnpackBackend", "VulkanBackend", "CoreMLBackend"}
