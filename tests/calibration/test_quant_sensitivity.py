"""Per-layer sensitivity and the mixed-precision search, on the ONNX Runtime recipe (the fastest to
calibrate) with a small K3DN at 32x32: layers map back to model modules, quantizing a single layer costs
less than quantizing all of them, and keeping every layer in float gives back the float model."""

from __future__ import annotations

import pytest
from conftest import SMALL_OVERRIDES as SMALL

pytestmark = pytest.mark.export

pytest.importorskip("onnxruntime", reason="ONNX toolchain not installed (pip install -e '.[export]')")
pytest.importorskip("onnxsim", reason="onnxsim not installed (pip install -e '.[export]')")

from k3dn.calibration.calib_set import build_calib_set  # noqa: E402
from k3dn.calibration.onnx import OnnxInt8  # noqa: E402
from k3dn.calibration.report import float_outputs, score  # noqa: E402
from k3dn.calibration.sensitivity import LayerSensitivity, layer_sensitivity, mixed_precision  # noqa: E402
from k3dn.data import make_eval_set  # noqa: E402
from k3dn.export.lower import lower  # noqa: E402
from k3dn.export.runners import TorchRunner  # noqa: E402
from k3dn.export.weights import random_model  # noqa: E402

SIZE = (32, 32)


@pytest.fixture(scope="module")
def setup():
    model = random_model("tiny", 0, **SMALL)
    recipe = OnnxInt8(lower(model), SIZE)
    recipe.calibrate(build_calib_set(n=4, size=SIZE, progress=False).inputs(SIZE), progress=False)
    items = make_eval_set(n=2, size=SIZE)
    reference = float_outputs(model, items, progress=False)
    float_psnr = score(TorchRunner(model), items, reference, progress=False, with_ssim=False).psnr_gt
    yield model, recipe, items, reference, float_psnr
    recipe.close()


def test_layers_are_model_modules(setup) -> None:
    model, recipe, *_ = setup
    modules = {name for name, _ in lower(model).named_modules(remove_duplicate=False)}
    assert len(recipe.layers) >= 10
    assert "top" in recipe.layers and "srp.phi_q" in recipe.layers and "encoder.level0.0" in recipe.layers
    assert set(recipe.layers) - {"top"} <= modules


LAYERS = ["top", "srp.phi_q", "srp.phi_k", "encoder.level0.0", "decoder.out", "w_v"]  # a CI-sized subset


def test_sensitivity_ranks_layers_one_at_a_time(setup) -> None:
    _, recipe, items, reference, float_psnr = setup
    ranking = layer_sensitivity(recipe, items, reference, float_psnr, layers=LAYERS)
    full = score(recipe.candidate(), items, reference, progress=False, with_ssim=False)
    assert sorted(e.layer for e in ranking) == sorted(LAYERS)
    assert [e.psnr_vs_float for e in ranking] == sorted(e.psnr_vs_float for e in ranking)
    print(f"all int8: {full.psnr_vs_float:.1f} dB vs float; most sensitive: {ranking[:3]}")
    assert ranking[-1].psnr_vs_float > full.psnr_vs_float  # one quantized layer costs less than all of them


def test_mixed_precision_keeps_layers_in_ranking_order_until_the_budget(setup) -> None:
    _, recipe, items, reference, float_psnr = setup
    ranking = [LayerSensitivity(layer, 0.0, 0.0) for layer in LAYERS[:3]]
    mixed, _ = mixed_precision(recipe, ranking, items, reference, float_psnr, budget_db=-1.0)  # unreachable
    assert not mixed.met and mixed.float_layers == LAYERS[:3] and len(mixed.steps) == 4
    lenient, _ = mixed_precision(recipe, ranking, items, reference, float_psnr, budget_db=10.0)
    assert lenient.met and lenient.float_layers == [] and len(lenient.steps) == 1
    everything = score(recipe.candidate(recipe.layers), items, reference, progress=False, with_ssim=False)
    assert everything.psnr_vs_float > 60  # every layer float: the float model again


def test_mixed_precision_continues_from_a_start_mix_with_a_cap(setup) -> None:
    """The pipeline confirms a subset's mix on the whole set: start there, add at most `max_added`."""
    _, recipe, items, reference, float_psnr = setup
    ranking = [LayerSensitivity(layer, 0.0, 0.0) for layer in LAYERS[:4]]
    mixed, _ = mixed_precision(recipe, ranking, items, reference, float_psnr, budget_db=-1.0,
                               start=[LAYERS[1]], max_added=2)
    assert mixed.steps[0]["float_layers"] == [LAYERS[1]]  # the start mix is measured first
    assert mixed.float_layers == [LAYERS[1], LAYERS[0], LAYERS[2]]  # ranking order, no repeat, capped at 2
    assert not mixed.met and mixed.pairs == len(items) and all(s["pairs"] == len(items) for s in mixed.steps)
