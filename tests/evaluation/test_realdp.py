"""`k3dn eval --data real-dp`: real Canon DP scenes with ground truth, scored below the label rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL

import k3dn
from k3dn.cli import main
from k3dn.evaluation.metrics import psnr
from k3dn.evaluation.realdp import DEFAULT_ROOT, LABEL_ROWS, load_real_dp
from k3dn.io import write_image
from k3dn.network.weights_io import save_weights

DPDNET = "DPDNet (published outputs)"


@pytest.fixture()
def small_weights(tmp_path):
    torch.manual_seed(0)
    return save_weights(k3dn.create("tiny", **SMALL), tmp_path / "w.safetensors")


def fake_real_dp(root, scenes: int = 2, size: tuple[int, int] = (96, 64)):
    """Scenes like the shared set's: the gt and dpdnet frames carry a white 'label' in the top rows."""
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(scenes):
        gt = rng.random((size[0], size[1], 3)).astype(np.float32)
        frames = {"gt": gt, "left": np.clip(gt + 0.05, 0, 1), "right": np.clip(gt - 0.05, 0, 1),
                  "dpdnet": np.clip(gt + 0.02, 0, 1)}
        for part in ("gt", "dpdnet"):
            frames[part][:LABEL_ROWS // 2, :20] = 1.0  # the label, different from the other frames' pixels
        for part, img in frames.items():
            write_image(root / f"canon_{i:02d}_{part}.png", img, bits=8)
    return root


def test_eval_real_dp_prints_input_dpdnet_and_models_below_the_label_rows(tmp_path, small_weights, capsys) -> None:
    root = fake_real_dp(tmp_path / "real-dp")
    out_json = tmp_path / "r.json"
    argv = ["eval", "--data", "real-dp", "--real-dp-root", str(root), "--model", f"Small={small_weights}",
            "--json", str(out_json)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| Input |" in printed and f"| {DPDNET} |" in printed and "| Small |" in printed
    assert "VALIDATION" in printed
    report = json.loads(out_json.read_text())
    assert report["n"] == 2 and f"{DPDNET} − Input" in report["paired_psnr"]
    # left/right = gt +- 0.05 (8-bit rounded) below the label: the input is gt to within 1/255 there
    assert report["results"]["Input"]["psnr"] > 45
    items = load_real_dp(root)
    assert all(it["score_top"] == LABEL_ROWS for it in items)


def test_missing_real_dp_folder_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["eval", "--data", "real-dp", "--real-dp-root", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "real-dp validation set not found" in err and "--real-dp-root" in err


def test_train_refuses_the_validation_set(tmp_path, capsys) -> None:
    root = fake_real_dp(tmp_path / "real-dp", scenes=1)
    assert main(["train", "--out", str(tmp_path / "run"), "--data", str(root)]) == 2
    assert "never be trained on" in capsys.readouterr().err


@pytest.mark.skipif(not DEFAULT_ROOT.is_dir(), reason=f"shared real-dp folder absent ({DEFAULT_ROOT})")
def test_shared_real_dp_scores_match_its_readme() -> None:
    items = load_real_dp()
    assert len(items) == 7 and all(it["sharp"].shape == (560, 840, 3) for it in items)
    top = LABEL_ROWS

    def mean_psnr(pred) -> float:
        return float(np.mean([psnr(pred(it)[top:], it["sharp"][top:]) for it in items]))

    # The README's figures (mean over the 7 scenes, rows 64 and below): input 24.96, DPDNet 27.13 dB.
    assert abs(mean_psnr(lambda it: (it["left"] + it["right"]) / 2) - 24.96) < 0.01
    assert abs(mean_psnr(lambda it: it["dpdnet"]) - 27.13) < 0.01
