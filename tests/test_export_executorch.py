"""ExecuTorch export: the .pte runs in executorch.runtime, every compute op inside XNNPACK, and matches
the float PyTorch model (fp32: max |diff| <= 1e-4, PSNR >= 60 dB) on synthetic DP pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.export

pytest.importorskip("executorch", reason="ExecuTorch toolchain not installed (pip install -e '.[export]')")

from k3dn.export.executorch import ALLOWED_NON_DELEGATED, audit_executorch  # noqa: E402
from k3dn.export.parity import parity_pairs, psnr  # noqa: E402
from k3dn.export.pipeline import Outcome, export_backend  # noqa: E402
from k3dn.export.runners import ExecuTorchRunner, TorchRunner, open_runner  # noqa: E402
from k3dn.export.weights import load_model  # noqa: E402

SIZE = (128, 128)
MAX_ABS, MIN_PSNR = 1e-4, 60.0  # fp32 budget


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Outcome, object]:
    model, weights = load_model("tiny")
    out = tmp_path_factory.mktemp("executorch")
    return export_backend("executorch", model, SIZE, out, weights), model


def test_export_writes_artifact_and_sidecar(exported) -> None:
    outcome, _ = exported
    assert outcome.status == "ok", outcome.reason
    assert outcome.artifact.name == "k3dn_tiny_128x128_fp32.pte"
    assert sorted(p.name for p in outcome.artifact.parent.iterdir()) == [outcome.artifact.name,
                                                                          outcome.artifact.name + ".json"]
    meta = json.loads(outcome.sidecar.read_text())
    assert meta["artifact"] == outcome.artifact.name and meta["backend"] == "executorch"
    assert meta["input_size"] == [128, 128] and meta["precision"] == "fp32"
    assert meta["model"]["variant"] == "tiny" and meta["weights"]["source"]
    assert meta["toolchain"]["executorch"] != "-" and meta["parity"]["passed"] is True
    assert list(meta["io"]["inputs"]) == ["left", "right"] and list(meta["io"]["outputs"]) == ["sharp"]


def test_every_compute_op_is_delegated_to_xnnpack(exported) -> None:
    """Read back from the .pte: one XNNPACK delegate call and no kernel call outside it (no exception
    is allowed: ALLOWED_NON_DELEGATED is empty; the runtime's I/O copies are not ops of the program)."""
    outcome, _ = exported
    audit = audit_executorch(outcome.artifact)
    print(audit.op_counts, audit.non_delegated)
    assert ALLOWED_NON_DELEGATED == ()
    assert audit.non_delegated == []
    assert audit.op_counts == {"delegate:XnnpackBackend": 1}
    assert audit.problems == []


def test_pte_matches_float_model_in_executorch_runtime(exported) -> None:
    outcome, model = exported
    reference = TorchRunner(model)  # seed 2: export_backend already checked seeds 0 and 1 (see the sidecar)
    with open_runner(outcome.artifact) as runner:
        assert isinstance(runner, ExecuTorchRunner) and runner.input_shape == (1, 3, *SIZE)
        for left, right in parity_pairs(*SIZE, seeds=(2,)):
            got, want = runner(left, right), reference(left, right)
            err, db = float(np.abs(got - want).max()), psnr(got, want)
            print(f"executorch: max |diff| {err:.2e}, PSNR {db:.1f} dB")
            assert err <= MAX_ABS and db >= MIN_PSNR
