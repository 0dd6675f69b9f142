"""The calibrated kernel families (fitted to real views) in the simulator, and the opt-in training knobs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from k3dn.data.datasets import TrainDataset
from k3dn.data.dp_family import CALIBRATED_FAMILIES, calibrated_shape, calibration_doc
from k3dn.data.dp_family import view_kernels as dp_kernels
from k3dn.data.psf_calib import FORMAT, shape_at
from k3dn.data.psf_fit import PsfShape, family_kernels, kernel_disparity
from k3dn.data.simulate import simulate_pair


def _digest(sample: dict) -> str:
    h = hashlib.sha256()
    for key in ("left", "right", "sharp"):
        h.update(np.ascontiguousarray(sample[key]).tobytes())
    return h.hexdigest()[:16]


def test_committed_parameter_files_are_valid():
    for family in CALIBRATED_FAMILIES:
        kind = family.removeprefix("calibrated_")
        doc = json.loads((Path(__file__).parents[2] / "k3dn" / "data" / "psf_params" / f"{kind}.json").read_text())
        assert doc["format"] == FORMAT and doc["camera_kind"] == kind
        assert "no ground truth" in doc["note"]
        assert set(doc["shape"]) == {"ramp", "chord", "apod", "asym"}
    assert calibration_doc("calibrated_phone")["field"]["zones"], "the phone fit carries its field trend"


@pytest.mark.parametrize("family", CALIBRATED_FAMILIES)
def test_calibrated_kernels_follow_the_simulator_conventions(family):
    doc = calibration_doc(family)
    for c in (3.0, -3.0, 7.5):
        k_left, k_right = dp_kernels(c, family)
        assert k_left.dtype == np.float32 and k_left.shape == k_right.shape
        assert abs(float(k_left.sum()) - 1) < 1e-5 and abs(float(k_right.sum()) - 1) < 1e-5
        d = kernel_disparity(k_left, k_right)
        assert np.sign(d) == np.sign(c)  # right view displaced to +x behind the focal plane
    # Its disparity-to-blur relation is the fitted one (what the camera showed), not the published families'.
    d = kernel_disparity(*dp_kernels(6.0, family))
    assert d / 6.0 == pytest.approx(doc["fit"]["disparity_per_radius"], rel=0.35)


def test_field_dependence_and_non_mirror_kernels():
    doc = {"shape": {"ramp": 1.0, "chord": 0.5, "apod": 0.2, "asym": 0.1},
           "field": {"ramp_per_x": 0.2, "asym_per_x": 0.1}}
    assert shape_at(doc, -1.0) == PsfShape(0.8, 0.5, 0.2, 0.0)
    assert shape_at(doc, 1.0) == PsfShape(1.2, 0.5, 0.2, 0.2)
    k_left, k_right = family_kernels(4.0, shape_at(doc, 1.0))
    assert not np.allclose(k_left, k_right[:, ::-1], atol=1e-3)
    phone = calibration_doc("calibrated_phone")
    if abs(phone["field"]["ramp_per_x"]) + abs(phone["field"]["asym_per_x"]) > 0.01:
        assert calibrated_shape("calibrated_phone", -0.9) != calibrated_shape("calibrated_phone", 0.9)


def test_simulate_pair_renders_a_calibrated_family():
    image = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    sim = simulate_pair(image, np.full((64, 64), 4.0, np.float32), "calibrated_dslr")
    assert sim["left"].shape == (64, 64, 3) and not np.array_equal(sim["left"], sim["right"])


# Digests of TrainDataset(patch=64, seed=3).sample(i), i < 3, from main before the calibrated families existed, per
# numpy SIMD level: numpy picks its math kernels (exp, sin, ...) by CPU level, their last bits differ, and 16-bit
# quantization turns a few of those into other pixel values, so the stream is bit-exact per level, not across levels
# (measured: NPY_DISABLE_CPU_FEATURES=X86_V3 on an AVX2 box changes samples 0 and 1).
STREAM_DIGESTS = {
    "X86_V4": ["c4e57405d85a4d6f", "cfe43f21a0cc9a86", "309cf9b4e34b798a"],  # AVX-512: AMD Zen 4, Intel Xeon
    "X86_V3": ["639b94307891c591", "40ab2dcaa3154573", "309cf9b4e34b798a"],  # AVX2: AMD Zen 3
}


def numpy_simd_level() -> str | None:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return next((level for level in ("X86_V4", "X86_V3") if level in __cpu_dispatch__ and __cpu_features__.get(level)),
                None)


def test_default_training_stream_is_unchanged():
    level = numpy_simd_level()
    if level not in STREAM_DIGESTS:
        pytest.skip(f"no stream digests recorded for numpy's SIMD level on this CPU ({level})")
    ds = TrainDataset(patch=64, seed=3)
    assert [_digest(ds.sample(i)) for i in range(3)] == STREAM_DIGESTS[level]


def test_calibrated_prob_swaps_only_the_chosen_items():
    base = TrainDataset(patch=48, seed=1)
    mixed = TrainDataset(patch=48, seed=1, calibrated_prob=0.5)
    families = []
    for i in range(8):
        s = mixed.sample(i)
        families.append(s["meta"]["family"])
        if s["meta"]["family"] not in CALIBRATED_FAMILIES:
            assert _digest(s) == _digest(base.sample(i))
    assert any(f in CALIBRATED_FAMILIES for f in families) and any(f not in CALIBRATED_FAMILIES for f in families)
    only_phone = TrainDataset(patch=48, seed=1, calibrated_prob=1.0, calibrated_families=("calibrated_phone",))
    assert only_phone.sample(0)["meta"]["family"] == "calibrated_phone"
    with pytest.raises(ValueError, match="calibrated_families"):
        TrainDataset(calibrated_families=("disc",))
    with pytest.raises(ValueError, match="calibrated_prob"):
        TrainDataset(calibrated_prob=1.5)


def test_train_flags_reach_the_dataset(tmp_path, capsys):
    from k3dn.cli import main
    from k3dn.training.trainer import TrainConfig, build_dataset

    ds = build_dataset(TrainConfig(calibrated_prob=0.3, calibrated_families=["calibrated_phone"], degrade_prob=0.2))
    assert (ds.calibrated_prob, ds.calibrated_families, ds.degrade_prob) == (0.3, ("calibrated_phone",), 0.2)
    default = build_dataset(TrainConfig())
    assert default.calibrated_prob == 0.0 and default.degrade_prob == 0.0
    for argv, message in ((["--calibrated-prob", "1.5"], "--calibrated-prob must be in [0, 1]"),
                          (["--degrade-prob", "-1"], "--degrade-prob must be in [0, 1]"),
                          (["--calibrated-families", "disc"], "--calibrated-families 'disc'")):
        assert main(["train", "--out", str(tmp_path / "run"), *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()
