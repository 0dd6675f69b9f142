"""The LiteRT int8 artifact is int8 where it should be: every weight, conv, add and LeakyReLU, with only
the kernel-query path (`top`) in float. Read from the .tflite flatbuffer (export.tflite.tflite_dtypes)
of a small K3DN at 32x32 quantized by calibration.tflite, then run in the LiteRT interpreter."""

from __future__ import annotations

import pytest
from conftest import SMALL_OVERRIDES as SMALL
from conftest import assert_int8_close_to_float

pytestmark = pytest.mark.export

pytest.importorskip("litert_torch", reason="litert-torch not installed (pip install -e '.[export]')")
pytest.importorskip("ai_edge_litert", reason="ai-edge-litert not installed (pip install -e '.[export]')")

from k3dn.calibration.calib_set import build_calib_set  # noqa: E402
from k3dn.calibration.pt2e import ROOT_LAYER  # noqa: E402
from k3dn.calibration.tflite import TFLiteInt8  # noqa: E402
from k3dn.export.lower import lower  # noqa: E402
from k3dn.export.tflite import tflite_dtypes  # noqa: E402
from k3dn.export.weights import random_model  # noqa: E402

SIZE = (32, 32)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    model = random_model("tiny", 0, **SMALL)
    recipe = TFLiteInt8(lower(model), SIZE)
    recipe.calibrate(build_calib_set(n=4, size=SIZE, progress=False).inputs(SIZE), progress=False)
    path = recipe.write(tmp_path_factory.mktemp("tflite_int8") / "int8.tflite", float_layers={ROOT_LAYER})
    return model, path


def test_int8_graph_leaves_only_the_kernel_query_path_in_float(artifact) -> None:
    _, path = artifact
    dtypes = tflite_dtypes(path)
    ops = dtypes["ops"]
    constants = dtypes["constant_bytes"]
    assert constants.get("FLOAT32", 0) < 256, constants  # a few float scalars of `top`, no weights
    assert "TRANSPOSE_CONV" not in ops  # export.lower turned the decoder's upsamplers into conv + pixel_shuffle
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "LEAKY_RELU", "CONCATENATION", "PAD", "SLICE"):
        assert set(ops[op]) == {"INT8"}, (op, ops[op])
    # Residual and skip adds are int8 (calibration.tflite.annotate_adds); the one float add is the mean
    # of the two views in `top`.
    assert ops["ADD"].get("FLOAT32", 0) <= 1 and ops["ADD"]["INT8"] >= 10
    assert ops["QUANTIZE"]["INT8"] <= 6  # the inputs and the float islands of `top`, not one per add


def test_int8_artifact_runs_close_to_the_float_model(artifact) -> None:
    model, path = artifact
    assert_int8_close_to_float(model, path, SIZE)
