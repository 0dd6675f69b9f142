"""TFLite/LiteRT export: litert-torch .tflite with builtin ops only, run by the LiteRT interpreter
(ai-edge-litert), matches the float PyTorch model (fp32: max |diff| <= 1e-4, PSNR >= 60 dB)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.export

pytest.importorskip("litert_torch", reason="litert-torch not installed (pip install -e '.[export]')")
pytest.importorskip("ai_edge_litert", reason="ai-edge-litert not installed (pip install -e '.[export]')")

from k3dn.export.parity import parity_pairs, psnr  # noqa: E402
from k3dn.export.pipeline import Outcome, export_backend  # noqa: E402
from k3dn.export.runners import LiteRTRunner, TorchRunner, open_runner  # noqa: E402
from k3dn.export.tflite import audit_tflite  # noqa: E402
from k3dn.export.weights import load_model  # noqa: E402

SIZE = (128, 128)
MAX_ABS, MIN_PSNR = 1e-4, 60.0  # fp32 budget


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Outcome, object]:
    model, weights = load_model("tiny")
    return export_backend("tflite", model, SIZE, tmp_path_factory.mktemp("tflite"), weights), model


def test_export_writes_artifact_and_sidecar(exported) -> None:
    outcome, _ = exported
    assert outcome.status == "ok", outcome.reason
    assert outcome.artifact.name == "k3dn_tiny_128x128_fp32.tflite"
    meta = json.loads(outcome.sidecar.read_text())
    assert meta["artifact"] == outcome.artifact.name and meta["precision"] == "fp32"
    assert meta["toolchain"]["litert-torch"] != "-" and meta["parity"]["passed"] is True


def test_builtin_ops_only(exported) -> None:
    """No Flex/Select-TF or custom ops, no FFT/complex ops; signature left, right -> sharp."""
    outcome, _ = exported
    audit = audit_tflite(outcome.artifact)
    print(audit.op_counts)
    assert audit.problems == []
    assert all(op.isupper() and not op.startswith("FLEX") for op in audit.op_counts)
    assert "CUSTOM" not in audit.op_counts and "DELEGATE" not in audit.op_counts
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX"} <= set(audit.op_counts)
    # No transposed conv at all: the decoder's k2 s2 upsamplers are conv + pixel_shuffle (export.lower),
    # and the kernel-weight upsampling is reshapes, not a grouped transposed conv split per channel.
    assert "TRANSPOSE_CONV" not in audit.op_counts
    assert audit.details["dtypes"]["ops"]["CONV_2D"] == {"FLOAT32": audit.op_counts["CONV_2D"]}  # fp32 export
    assert audit.details["signatures"]["serving_default"] == {"inputs": ["left", "right"], "outputs": ["sharp"]}


def test_tflite_matches_float_model_in_litert_interpreter(exported) -> None:
    outcome, model = exported
    reference = TorchRunner(model)  # seed 2: export_backend already checked seeds 0 and 1 (see the sidecar)
    with open_runner(outcome.artifact) as runner:
        assert isinstance(runner, LiteRTRunner) and runner.input_shape == (1, 3, *SIZE)
        for left, right in parity_pairs(*SIZE, seeds=(2,)):
            got, want = runner(left, right), reference(left, right)
            err, db = float(np.abs(got - want).max()), psnr(got, want)
            print(f"litert: max |diff| {err:.2e}, PSNR {db:.1f} dB")
            assert err <= MAX_ABS and db >= MIN_PSNR
