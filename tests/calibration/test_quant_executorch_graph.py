"""The ExecuTorch int8 artifact runs LeakyReLU int8, not as a float island (export.executorch.xnnpack_partitioner).
Read from the XNNPACK delegate graph as it is serialized (export.xnnpack_arena.packed_arena's node-type counts)
for a small K3DN at 32x32 quantized by calibration.executorch, then run in the ExecuTorch runtime."""

from __future__ import annotations

import pytest
from conftest import SMALL_OVERRIDES as SMALL
from conftest import assert_int8_close_to_float

pytestmark = pytest.mark.export

pytest.importorskip("executorch", reason="executorch not installed (pip install -e '.[export]')")
pytest.importorskip("torchao", reason="torchao not installed (pip install -e '.[export]')")

from k3dn.calibration.calib_set import build_calib_set  # noqa: E402
from k3dn.calibration.executorch import ExecuTorchInt8  # noqa: E402
from k3dn.calibration.pt2e import ROOT_LAYER  # noqa: E402
from k3dn.export.executorch import write_pte  # noqa: E402
from k3dn.export.lower import lower  # noqa: E402
from k3dn.export.weights import random_model  # noqa: E402

SIZE = (32, 32)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    model = random_model("tiny", 0, **SMALL)
    recipe = ExecuTorchInt8(lower(model), SIZE)
    recipe.calibrate(build_calib_set(n=4, size=SIZE, progress=False).inputs(SIZE), progress=False)
    node_types: list = []
    path = write_pte(recipe.calibrated.convert({ROOT_LAYER}), recipe.example,
                     tmp_path_factory.mktemp("et_int8") / "int8.pte", node_types=node_types)
    return model, path, node_types


def test_int8_graph_runs_leaky_relu_int8(artifact) -> None:
    _, _, node_types = artifact
    assert len(node_types) == 1, node_types  # one XNNPACK delegate graph
    ops = node_types[0]
    assert ops["XNNLeakyReLU"] == 24 and ops["XNNConv2d"] >= 60, ops  # this model calls LeakyReLU 24 times
    # Converts: the inputs, the output and the kernel-query path `top` kept in float (17), not also a pair
    # per LeakyReLU (65 with ExecuTorch's default partitioner, which takes LeakyReLU in fp32 only).
    assert ops["XNNConvert"] <= 17, ops


def test_int8_artifact_runs_close_to_the_float_model(artifact) -> None:
    model, path, _ = artifact
    assert_int8_close_to_float(model, path, SIZE)
