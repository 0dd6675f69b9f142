"""`k3dn eval` prints the Table-1-shaped table; `k3dn train` refuses bad arguments clearly."""

from __future__ import annotations

import json

import torch
from conftest import SMALL_OVERRIDES as SMALL

import k3dn
from k3dn.cli import main
from k3dn.network.weights_io import save_weights


def test_eval_prints_input_and_model_rows(tmp_path, capsys) -> None:
    torch.manual_seed(0)
    weights = save_weights(k3dn.create("tiny", **SMALL), tmp_path / "w.safetensors")
    out_json = tmp_path / "r.json"
    assert main(["eval", "--n", "2", "--size", "64", "--model", f"Small={weights}", "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    assert "| Method | PSNR↑ | SSIM↑ |" in table and "| Input |" in table and "| Small |" in table
    results = json.loads(out_json.read_text())["results"]
    # An untrained model starts as the identity on the view mean, so it scores exactly like the input.
    assert abs(results["Small"]["psnr"] - results["Input"]["psnr"]) < 1e-3
    assert "linear light" in json.loads(out_json.read_text())["data"]


def test_eval_compares_models_pair_by_pair(tmp_path, capsys) -> None:
    torch.manual_seed(0)
    weights = save_weights(k3dn.create("tiny", **SMALL), tmp_path / "w.safetensors")
    out_json = tmp_path / "r.json"
    argv = ["eval", "--n", "3", "--size", "64", "--model", f"A={weights}", "--model", f"B={weights}"]
    assert main(argv + ["--pair", "A:B", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "bootstrap interval over 3 pairs" in printed and "B − A" in printed and "A − Input" in printed
    report = json.loads(out_json.read_text())
    same = report["paired_psnr"]["B − A"]  # the same weights: every difference is exactly 0
    assert (same["mean"], same["low"], same["high"], same["wins"], same["n"]) == (0.0, 0.0, 0.0, 0, 3)
    assert report["paired_psnr"]["A − B"]["n"] == 3  # the --pair comparison, beside the reference's
    assert len(report["per_pair_psnr"]["A"]) == 3
    mean = sum(report["per_pair_psnr"]["A"]) / 3
    assert abs(mean - report["results"]["A"]["psnr"]) < 1e-9


def test_eval_refuses_an_unknown_reference_and_duplicate_names(tmp_path, capsys) -> None:
    w = tmp_path / "w.safetensors"
    assert main(["eval", "--model", f"A={w}", "--reference", "U-Net"]) == 2
    assert "--reference 'U-Net'" in capsys.readouterr().err
    assert main(["eval", "--model", f"A={w}", "--model", f"A={w}"]) == 2
    assert "distinct" in capsys.readouterr().err
    assert main(["eval", "--model", f"A={w}", "--pair", "A:Z"]) == 2  # refused before any weights are read
    assert "--pair 'A:Z'" in capsys.readouterr().err


def test_eval_on_the_srgb_render_scores_a_different_input(tmp_path) -> None:
    inputs = {}
    for render in ("linear", "srgb"):
        out_json = tmp_path / f"{render}.json"
        assert main(["eval", "--n", "2", "--size", "64", "--render", render, "--json", str(out_json)]) == 0
        report = json.loads(out_json.read_text())
        assert ("sRGB values" in report["data"]) == (render == "srgb")
        inputs[render] = report["results"]["Input"]["psnr"]
    assert inputs["linear"] != inputs["srgb"]


def test_eval_mild_slice_is_named_and_synthetic_only(tmp_path, capsys) -> None:
    out_json = tmp_path / "mild.json"
    assert main(["eval", "--n", "2", "--size", "64", "--slice", "mild", "--json", str(out_json)]) == 0
    assert "mild slice" in json.loads(out_json.read_text())["data"]
    assert main(["eval", "--slice", "mild", "--data", str(tmp_path)]) == 2
    assert "--slice mild" in capsys.readouterr().err


def test_eval_rejects_bad_model_spec_and_data(tmp_path, capsys) -> None:
    assert main(["eval", "--model", "no-equals-sign"]) == 2
    assert "NAME=WEIGHTS" in capsys.readouterr().err
    assert main(["eval", "--data", str(tmp_path / "nowhere"), "--model", f"x={tmp_path / 'w'}"]) == 2
    err = capsys.readouterr().err
    assert "not found" in err or "not a directory" in err


def test_train_rejects_bad_arguments(tmp_path, capsys) -> None:
    assert main(["train", "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "r"), "--patch", "100"]) == 2
    assert "multiple of 16" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "r"), "--set", "bogus=1"]) == 2
    assert "FIELD=VALUE" in capsys.readouterr().err
