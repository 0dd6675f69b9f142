"""Training: one step reduces the loss on a fixed batch; resuming a checkpoint continues identically."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL
from torch.utils.data import Dataset

from k3dn.network.weights_io import load_weights
from k3dn.training.trainer import TrainConfig, Trainer, build_dataset, lr_factor


class FixedPairs(Dataset):
    """Deterministic DP-like items: a smooth random image, right view shifted by 2 px, both blurred."""

    def __init__(self, patch: int = 32) -> None:
        self.patch = patch

    def __len__(self) -> int:
        return 10**6

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        sharp = torch.nn.functional.avg_pool2d(torch.rand(1, 3, self.patch + 4, self.patch + 4, generator=g), 3, 1)
        sharp = sharp[0, :, :self.patch, :self.patch]
        blur = torch.nn.functional.avg_pool2d(sharp[None], 5, 1, 2)[0]
        left, right = blur, torch.roll(blur, 2, dims=-1)
        return {"left": left, "right": right, "sharp": sharp, "blurry": (left + right) / 2}


def config(tmp_path, **kw) -> TrainConfig:
    base = dict(out=str(tmp_path / "run"), overrides=SMALL, steps=6, batch=2, patch=32, workers=0,
                warmup=2, val_every=3, ckpt_every=2, log_every=1, device="cpu")
    return TrainConfig(**(base | kw))


def test_training_steps_reduce_the_loss_on_a_fixed_batch(tmp_path) -> None:
    trainer = Trainer(config(tmp_path, lr=1e-3, warmup=1), FixedPairs())
    batch = {k: torch.stack([FixedPairs()[i][k] for i in range(2)]) for k in ("left", "right", "sharp", "blurry")}
    first = trainer.train_step(batch)["loss"]
    for _ in range(5):
        last = trainer.train_step(batch)["loss"]
    print(f"loss {first:.4f} -> {last:.4f}")
    assert last < first


def test_resume_gives_identical_continuation(tmp_path) -> None:
    straight = Trainer(config(tmp_path / "a"), FixedPairs())
    straight.fit(progress=False)

    part = Trainer(config(tmp_path / "b"), FixedPairs())
    part.fit(progress=False, until=4)
    resumed = Trainer(config(tmp_path / "b"), FixedPairs())
    resumed.resume(tmp_path / "b" / "run" / "last.pt")
    assert resumed.step == 4
    resumed.fit(progress=False)

    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed run diverged from the uninterrupted one"


def test_run_directory_records_config_metrics_and_weights(tmp_path) -> None:
    eval_item = {k: v.permute(1, 2, 0).numpy() for k, v in FixedPairs()[123].items()}
    trainer = Trainer(config(tmp_path), FixedPairs(), eval_set=[eval_item])
    trainer.fit(progress=False)
    run = tmp_path / "run"
    info = json.loads((run / "config.json").read_text())
    assert info["train"]["steps"] == 6 and info["model"]["feat_channels"] == 16 and "git_commit" in info
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("val_psnr" in r for r in records) and any("loss" in r for r in records)
    model = load_weights(run / "last.safetensors")
    assert not model.training
    assert (run / "best.safetensors").is_file()


def test_lr_schedule_warms_up_then_decays() -> None:
    cfg = TrainConfig(steps=100, warmup=10, min_lr_ratio=0.1)
    assert lr_factor(0, cfg) == 0.1 and lr_factor(9, cfg) == 1.0
    assert lr_factor(50, cfg) < lr_factor(20, cfg) and abs(lr_factor(100, cfg) - 0.1) < 1e-9


def test_init_from_weights_loads_them_with_a_fresh_optimizer(tmp_path) -> None:
    source = Trainer(config(tmp_path / "src"), FixedPairs())
    source.fit(progress=False, until=2)
    fresh = Trainer(config(tmp_path / "dst", seed=5), FixedPairs())
    fresh.init_from(tmp_path / "src" / "run" / "last.safetensors")
    a, b = source.model.state_dict(), fresh.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert fresh.step == 0 and fresh.model.training


def test_blur_space_selects_how_training_pairs_are_blurred(tmp_path) -> None:
    def spaces(blur_space: str) -> set:
        data = build_dataset(config(tmp_path, blur_space=blur_space))
        return {data.sample(i)["meta"]["linear"] for i in range(8)}

    assert spaces("linear") == {True}
    assert spaces("srgb") == {False}
    assert spaces("mix") == {True, False}  # 8 draws at p = 0.65: both kinds (fixed seed)
    with pytest.raises(ValueError, match="blur space"):
        build_dataset(config(tmp_path, blur_space="log"))
