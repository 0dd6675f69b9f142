"""The ExecuTorch GPU/NPU delegates: Vulkan (fp32 and fp16) and CoreML, exported through the same pipeline as every
backend (audit -> parity -> sidecar -> atomic rename), each with its delegation audit read back from the .pte.

The audit is the check that matters here: every op inside one delegate call, none left to the portable CPU kernels
(which is what a phone would silently fall back to). Numerics need a Vulkan GPU runtime or macOS: on a machine
without them the parity check is skipped with the runtime's own reason, never passed. Their fp16 numerics are
checked in PyTorch float16 instead (tests/calibration/test_fp16.py). A small K3DN at 64x64 keeps this cheap; the
shipped weights at 128x128 are exported by the slow test at the end.
"""

from __future__ import annotations

import json

import pytest
import torch
from conftest import SMALL_OVERRIDES

import k3dn
from k3dn.backends import BACKENDS, by_name
from k3dn.camera.runners import ExecuTorchRunner, open_runner, read_sidecar, unavailable
from k3dn.errors import RuntimeUnavailable
from k3dn.export.common import missing_modules
from k3dn.export.pipeline import export_backend, precisions
from k3dn.network.weights_io import state_sha256

pytestmark = pytest.mark.export

SIZE = (64, 64)
JOBS = [("executorch-vulkan", "fp32"), ("executorch-vulkan", "fp16"), ("executorch-coreml", "fp16")]


def _needs(backend: str) -> None:
    from k3dn.export.pipeline import _backend

    missing = missing_modules(_backend(backend).REQUIRES)
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (pip install -e '.[export]')")


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return k3dn.create("tiny", **SMALL_OVERRIDES).eval()


@pytest.fixture(scope="module", params=JOBS, ids=[f"{b}-{p}" for b, p in JOBS])
def exported(request, small_model, tmp_path_factory):
    backend, precision = request.param
    _needs(backend)
    out = tmp_path_factory.mktemp(f"{backend}-{precision}")
    outcome = export_backend(backend, small_model, SIZE, out, {"state_sha256": state_sha256(small_model)},
                             precision=precision)
    return backend, precision, outcome


def test_vulkan_exports_fp32_and_fp16() -> None:
    assert precisions("executorch-vulkan") == ("fp32", "fp16") and precisions("executorch-coreml") == ("fp16",)
    with pytest.raises(ValueError, match="not 'int8'"):
        export_backend("executorch-vulkan", None, SIZE, "unused", precision="int8")


def test_export_writes_artifact_and_typed_sidecar(exported) -> None:
    backend, precision, outcome = exported
    assert outcome.status == "ok", f"{outcome.reason}\n{outcome.detail}"
    assert outcome.artifact.name == f"k3dn_tiny_64x64_{precision}.{BACKENDS[backend].suffix}"
    assert by_name(outcome.artifact.name) is BACKENDS[backend]
    assert sorted(p.name for p in outcome.artifact.parent.iterdir()) == [outcome.artifact.name,
                                                                          outcome.artifact.name + ".json"]
    meta = read_sidecar(outcome.artifact, verify=True)  # types checked, sha256 and bytes verified
    assert meta["backend"] == backend and meta["precision"] == precision and meta["input_size"] == [64, 64]
    assert meta["delegation"] == {"delegate": BACKENDS[backend].delegate, "delegate_calls": 1, "ops_outside": 0,
                                  "outside": []}
    reason = unavailable(backend)
    if reason:  # not run here: the sidecar says why instead of claiming a pass
        assert meta["parity"]["passed"] is None and meta["parity"]["skipped"] == reason
    else:
        assert meta["parity"]["passed"] is True


def test_delegation_audit_every_op_in_one_delegate_call(exported) -> None:
    backend, _, outcome = exported
    from k3dn.export.executorch import audit_pte

    delegate = BACKENDS[backend].delegate
    audit = audit_pte(outcome.artifact, backend, delegate)
    print(backend, audit.details["delegation"])
    assert audit.problems == []
    assert audit.op_counts == {f"delegate:{delegate}": 1}
    assert audit.non_delegated == [] and audit.details["delegates"] == [delegate]


def test_numerics_run_where_the_delegate_runtime_exists(exported, small_model) -> None:
    backend, precision, outcome = exported
    reason = unavailable(backend)
    if reason:
        with pytest.raises(RuntimeUnavailable, match=BACKENDS[backend].delegate):
            open_runner(outcome.artifact)
        pytest.skip(f"numeric check of {backend} {precision} skipped: {reason}")
    from k3dn.export.parity import parity_pairs, psnr
    from k3dn.export.runners import TorchRunner

    with open_runner(outcome.artifact) as runner:
        assert isinstance(runner, ExecuTorchRunner) and runner.name == BACKENDS[backend].runtime
        for left, right in parity_pairs(*SIZE, seeds=(2,)):
            db = psnr(runner(left, right), TorchRunner(small_model)(left, right))
            assert db >= (45.0 if precision == "fp16" else 60.0)


def test_audit_fails_when_an_op_falls_outside_the_delegate(tmp_path) -> None:
    """cumsum has no Vulkan kernel: the partitioner leaves it to the portable CPU kernels and the audit says so."""
    _needs("executorch-vulkan")
    from executorch.backends.vulkan.partitioner.vulkan_partitioner import VulkanPartitioner

    from k3dn.export.common import ExportError
    from k3dn.export.executorch import write_pte
    from k3dn.export.executorch_vulkan import audit_executorch_vulkan

    class Stray(torch.nn.Module):
        def forward(self, a, b):
            return torch.cumsum(a, dim=3) + b

    path = write_pte(Stray(), (torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)), tmp_path / "stray.vulkan.pte",
                     VulkanPartitioner({}))
    audit = audit_executorch_vulkan(path)
    assert audit.details["delegation"]["ops_outside"] == 1 and audit.non_delegated == ["aten::cumsum.out"]
    with pytest.raises(ExportError, match="outside VulkanBackend"):
        audit.check()


def test_a_sidecar_with_a_malformed_delegation_is_refused(exported, tmp_path) -> None:
    from k3dn.errors import ArtifactError

    _, _, outcome = exported
    meta = json.loads(outcome.sidecar.read_text())
    meta["delegation"]["ops_outside"] = "none"
    copy = tmp_path / outcome.artifact.name
    copy.write_bytes(outcome.artifact.read_bytes())
    (tmp_path / (copy.name + ".json")).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="'delegation'"):
        read_sidecar(copy)


def test_deblur_refuses_a_backend_that_cannot_run_here_before_exporting(tmp_path, capsys) -> None:
    _needs("executorch-vulkan")
    from k3dn.commands.runner_choice import open_cli_runner
    from k3dn.errors import UserError

    if unavailable("executorch-vulkan") is None:
        pytest.skip("this ExecuTorch runtime has the Vulkan backend")
    with pytest.raises(UserError, match="cannot run here: .*VulkanBackend"):
        open_cli_runner(None, None, "executorch-vulkan", "fp32", None, 64, (200, 200))
    assert "exporting" not in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["executorch-vulkan", "executorch-coreml"])
def test_shipped_weights_delegate_fully_at_128(backend, tmp_path) -> None:
    """The shipped K3DN-Tiny, as `k3dn export` writes it: one delegate call, nothing outside (fp16 Vulkan about
    half the fp32 file: its weights are stored in float16)."""
    _needs(backend)
    from k3dn.export.pipeline import export_backends
    from k3dn.export.weights import model_and_source

    model, info = model_and_source("tiny")
    outcomes = export_backends([backend], model, (128, 128), tmp_path, info, progress=print)
    assert [o.status for o in outcomes] == ["ok"] * len(precisions(backend))
    for o in outcomes:
        assert o.audit.details["delegation"]["delegate_calls"] == 1 and o.audit.non_delegated == []
    if backend == "executorch-vulkan":
        fp32, fp16 = (o.size_bytes for o in outcomes)
        assert fp16 < 0.55 * fp32
