"""Inference-time ablations: each one changes the shipped model's output; the normal path is untouched."""

from __future__ import annotations

import json

import pytest
import torch

from k3dn.cli import main
from k3dn.data import make_eval_set
from k3dn.network.ablate import ABLATIONS, AblatedRunner, ablated
from k3dn.network.weights_io import load_pretrained


@pytest.fixture(scope="module")
def model_and_pair():
    model = load_pretrained("tiny")
    item = make_eval_set(n=1, size=(64, 64))[0]
    left, right = (torch.from_numpy(item[k]).permute(2, 0, 1)[None] for k in ("left", "right"))
    return model, left, right


@torch.no_grad()
def test_each_ablation_changes_the_output_and_the_normal_path_is_bit_identical(model_and_pair) -> None:
    model, left, right = model_and_pair
    before = model(left, right)
    outputs = {}
    for part in ABLATIONS:
        with ablated(model, [part]):
            outputs[part] = model(left, right)
        diff = float((outputs[part] - before).abs().max())
        print(f"{part}: max |change| {diff:.4f}")
        assert diff > 1e-3, f"ablating {part} did not change the output"
    assert torch.equal(model(left, right), before), "the unablated forward changed after the ablations"
    assert torch.equal(AblatedRunner(model, [])(left, right), before)
    with ablated(model, list(ABLATIONS)):
        everything = model(left, right)
    assert not any(torch.equal(everything, o) for o in outputs.values())
    assert torch.equal(model(left, right), before)


def test_unknown_ablation_or_model_without_the_part_is_refused(model_and_pair) -> None:
    model = model_and_pair[0]
    with pytest.raises(ValueError, match="unknown ablation"):
        with ablated(model, ["decoder"]):
            pass
    with pytest.raises(ValueError, match="no srp module"):
        with ablated(torch.nn.Identity(), ["srp"]):
            pass


def test_eval_ablate_adds_rows_compared_with_their_model(tmp_path, capsys) -> None:
    out_json = tmp_path / "r.json"
    argv = ["eval", "--n", "2", "--size", "64", "--ablate", "query", "--ablate", "srp", "--json", str(out_json)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| K3DN-Tiny (shipped), a = 1/N |" in printed and "| K3DN-Tiny (shipped), SRP bypassed |" in printed
    paired = json.loads(out_json.read_text())["paired_psnr"]
    assert "K3DN-Tiny (shipped), SRP bypassed − K3DN-Tiny (shipped)" in paired
    assert "K3DN-Tiny (shipped), a = 1/N − Input" in paired
