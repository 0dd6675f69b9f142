"""The signed-blur auxiliary loss on the disparity features R (k3dn/training/disparity_loss.py)."""

from __future__ import annotations

import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL
from safetensors.torch import load_file

from k3dn.training.disparity_loss import RADIUS_SCALE, BlurReadout, signed_blur_loss
from k3dn.training.trainer import TrainConfig, Trainer


class SignedPairs(torch.utils.data.Dataset):
    """Items whose right view is the left shifted by s px and whose signed blur map is s everywhere."""

    def __len__(self) -> int:
        return 10**6

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        shift = int(torch.randint(-3, 4, (), generator=g))
        sharp = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 36, 36, generator=g), 3, 1)[0, :, :32, :32]
        left, right = sharp, torch.roll(sharp, shift, dims=-1)
        return {"left": left, "right": right, "sharp": sharp, "blurry": (left + right) / 2,
                "radius": torch.full((1, 32, 32), float(shift))}


def config(tmp_path, **kw) -> TrainConfig:
    base = dict(out=str(tmp_path / "run"), overrides=SMALL, steps=4, batch=4, patch=32, workers=0, warmup=1,
                val_every=0, ckpt_every=2, log_every=1, device="cpu", lr=3e-3)
    return TrainConfig(**(base | kw))


def test_the_loss_compares_the_readout_with_the_cell_means_of_the_blur_map() -> None:
    radius = torch.zeros(1, 1, 32, 32)
    radius[..., :, 16:] = 8.0  # right half behind the focal plane by 8 px
    exact = torch.tensor([0.0, 1.0]).repeat(2, 1)[None, None] * 8.0 / RADIUS_SCALE
    assert signed_blur_loss(exact, radius).item() == 0.0
    assert signed_blur_loss(torch.zeros(1, 1, 2, 2), radius).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="not a multiple"):
        signed_blur_loss(torch.zeros(1, 1, 3, 3), radius)


def test_training_with_it_fits_the_readout_and_keeps_it_out_of_the_weights(tmp_path) -> None:
    trainer = Trainer(config(tmp_path, disp_loss_weight=1.0, steps=40, lr=3e-3), SignedPairs())
    batch = {k: torch.stack([SignedPairs()[i][k] for i in range(4)]) for k in ("left", "right", "sharp", "blurry",
                                                                                "radius")}
    first = trainer.train_step(batch)["disp"]
    for _ in range(30):
        last = trainer.train_step(batch)["disp"]
    assert last < 0.5 * first, f"the readout did not fit the blur map: {first:.4f} -> {last:.4f}"
    trainer.save_checkpoint()
    saved = load_file(tmp_path / "run" / "last.safetensors")
    assert not any(k.startswith("readout") for k in saved) and set(saved) == set(trainer.model.state_dict())
    resumed = Trainer(config(tmp_path, disp_loss_weight=1.0, steps=40, lr=3e-3), SignedPairs())
    resumed.resume(tmp_path / "run" / "last.pt")
    assert torch.equal(resumed.readout.conv.weight, trainer.readout.conv.weight)


def test_it_moves_the_disparity_estimator_and_refuses_data_without_a_blur_map(tmp_path) -> None:
    batch = {k: torch.stack([SignedPairs()[i][k] for i in range(4)]) for k in ("left", "right", "sharp", "blurry",
                                                                                "radius")}
    grads = {}
    for weight in (0.0, 1.0):
        trainer = Trainer(config(tmp_path / str(weight), disp_loss_weight=weight), SignedPairs())
        trainer.train_step(batch)
        grads[weight] = trainer.model.disparity.head[0].weight.grad.clone()
    assert not torch.allclose(grads[0.0], grads[1.0])
    trainer = Trainer(config(tmp_path / "x", disp_loss_weight=1.0), SignedPairs())
    with pytest.raises(ValueError, match="blur radius"):
        trainer.train_step({k: v for k, v in batch.items() if k != "radius"})
    assert isinstance(trainer.readout, BlurReadout)


def test_the_cli_refuses_a_negative_weight_and_real_pairs_without_a_blur_map(tmp_path, capsys) -> None:
    from k3dn.cli import main

    for argv, message in ((["--disp-loss-weight", "-0.1"], "--disp-loss-weight must be >= 0"),
                          (["--disp-loss-weight", "0.1", "--dpdd", str(tmp_path)], "DPDD pairs have none")):
        assert main(["train", "--out", str(tmp_path / "run"), *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()
