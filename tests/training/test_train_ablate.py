"""Training ablations (`k3dn train --ablate`): the part stays off, the rest trains, and the weights say so."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL
from test_train import FixedPairs

from k3dn.camera.runners import open_runner
from k3dn.cli import main
from k3dn.commands.evaluate import _load_for_eval
from k3dn.errors import ArtifactError
from k3dn.network.ablate import AblatedRunner
from k3dn.network.weights_io import WeightsError, load_weights
from k3dn.training.trainer import TrainConfig, Trainer

SMALL_SET = [arg for key, value in SMALL.items() for arg in ("--set", f"{key}={value!r}")]


def _batch() -> dict:
    items = [FixedPairs()[i] for i in range(2)]
    return {k: torch.stack([it[k] for it in items]) for k in ("left", "right", "sharp", "blurry")}


def _moved(before: dict, model: torch.nn.Module, prefix: str) -> bool:
    return any(not torch.equal(before[k], v) for k, v in model.state_dict().items() if k.startswith(prefix))


# What an ablation leaves without gradient: SRP bypassed -> SRP; a = 1/N -> the query and the disparity estimator
# that only feeds it. ("kernels" swaps the inverse kernels only: the kernel set stays the query's keys, Eq. 8.)
@pytest.mark.parametrize("part, frozen", [("srp", ("srp.",)), ("query", ("query.", "disparity."))])
def test_the_ablated_part_never_changes_and_the_rest_trains(tmp_path, part, frozen) -> None:
    cfg = TrainConfig(out=str(tmp_path / "run"), overrides=SMALL, steps=4, batch=2, patch=32, workers=0, warmup=1,
                      lr=1e-3, val_every=0, ckpt_every=2, device="cpu", ablate=[part], reblur_weight=0.0)
    trainer = Trainer(cfg, FixedPairs())
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    batch = _batch()
    for _ in range(3):
        trainer.train_step(batch)
    for prefix in frozen:
        assert not _moved(before, trainer.model, prefix), f"{prefix} parameters moved although {part} was switched off"
    assert _moved(before, trainer.model, "encoder.") and _moved(before, trainer.model, "decoder.")
    left, right = batch["left"][:1], batch["right"][:1]
    trainer.model.eval()
    with torch.no_grad():
        trained_as = trainer.model(left, right)  # the trainer's model runs ablated
    trainer.save_checkpoint()
    path = tmp_path / "run" / "last.safetensors"
    with pytest.raises(WeightsError, match="switched off"):
        load_weights(path)  # deblur and export would run the unablated function: refused
    with pytest.raises(ArtifactError, match="switched off"):
        open_runner(path)
    runner = _load_for_eval(str(path), "cpu")
    assert isinstance(runner, AblatedRunner) and runner.parts == (part,)
    with torch.no_grad():
        assert torch.allclose(runner(left, right), trained_as, atol=1e-6)
        unablated = load_weights(path, allow_ablated=True)(left, right)
    assert not torch.equal(unablated, trained_as), "loading without the ablation must give another function"


def test_cli_train_ablate_records_it_and_eval_applies_it(tmp_path, capsys) -> None:
    out = tmp_path / "abl"
    argv = ["train", "--out", str(out), "--steps", "2", "--batch", "1", "--patch", "32", "--workers", "0",
            "--val-every", "0", "--diag-every", "0", "--threads", "1", "--ablate", "srp", *SMALL_SET]
    assert main(argv) == 0
    assert json.loads((out / "config.json").read_text())["train"]["ablate"] == ["srp"]
    capsys.readouterr()
    assert main(["eval", "--n", "1", "--size", "64", "--model", f"no SRP={out / 'last.safetensors'}",
                 "--ablate", "kernels"]) == 0
    printed = capsys.readouterr().out
    assert "| no SRP |" in printed and "| no SRP, identity kernels |" in printed
    assert main(["train", "--arch", "unet", "--out", str(tmp_path / "u"), "--steps", "1", "--ablate", "srp"]) == 2
    assert "the U-Net has none" in capsys.readouterr().err
