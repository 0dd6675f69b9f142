"""Data-parallel training: `torchrun -m k3dn train` on 2 CPU processes (gloo) trains like one process
with the global batch, rank 0 alone writes the run, the replicas stay bit-identical, resume keeps W."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import SMALL_OVERRIDES as SMALL
from safetensors.torch import load_file

from k3dn.cli import main
from k3dn.training.distributed import StepItems
from k3dn.training.trainer import TrainConfig, build_model

SET = [arg for k, v in SMALL.items() for arg in ("--set", f"{k}={v!r}")]
# fp32, no dropout or batch norm in the model; reblur on every other step, so DDP also sees steps without it.
COMMON = ["--steps", "4", "--patch", "32", "--workers", "0", "--device", "cpu", "--reblur-every", "2", *SET]
UPDATE_RTOL = 1e-3  # |update(DDP) - update(1 process, batch 2)| / |update|: float32 rounding of the weights
WEIGHT_RTOL = 1e-5  # the same, on the weights themselves


def torchrun(out: Path, *args: str, world: int = 2) -> subprocess.CompletedProcess:
    """`python -m torch.distributed.run --standalone --nproc_per_node W -m k3dn train ...` (a free port)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(world),
           "-m", "k3dn", "train", "--out", str(out), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, cwd=out.parent)


def update(run: Path) -> torch.Tensor:
    """All parameters' movement from the run's init.pt, flattened (float64)."""
    init, last = torch.load(run / "init.pt", weights_only=True), load_file(run / "last.safetensors")
    return torch.cat([(last[k].double() - init[k].double()).flatten() for k in sorted(last)])


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_processes_train_like_one_with_the_global_batch(tmp_path: Path) -> None:
    ddp = tmp_path / "ddp"
    done = torchrun(ddp, "--batch", "1", "--val-every", "2", "--diag-every", "2", *COMMON)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("training k3dn/tiny on 2 processes (cpu), global batch 2") == 1  # rank 0 speaks

    # (a) Rank 0 alone wrote the run: one record per event, one checkpoint, un-prefixed weights.
    info = json.loads((ddp / "config.json").read_text())
    assert (info["world_size"], info["global_batch"], info["train"]["batch"]) == (2, 2, 1)
    metrics = records(ddp / "metrics.jsonl")
    assert [r["step"] for r in metrics if "val_psnr" in r] == [2, 4]
    assert [r["step"] for r in records(ddp / "diagnostics.jsonl")] == [2, 4]
    assert sorted(p.name for p in ddp.iterdir()) == ["best.safetensors", "config.json", "diagnostics.jsonl",
                                                     "init.pt", "last.pt", "last.safetensors", "metrics.jsonl"]
    ckpt = torch.load(ddp / "last.pt", weights_only=True)
    assert ckpt["step"] == 4 and ckpt["world_size"] == 2
    assert not any(k.startswith("module.") for k in ckpt["model"])
    assert set(load_file(ddp / "last.safetensors")) == set(ckpt["model"])

    # (b) The ranks compared bit-exact weight checksums at the checkpoint (a divergence raises there).
    [agree] = [r for r in metrics if "replicas" in r]
    assert agree == {"step": 4, "replicas": 2, "replicas_agree": True, "tensors_checked": len(ckpt["model"])}

    # (c) 2 ranks x batch 1 = 1 process x batch 2 (items 2s, 2s+1 at step s; averaged gradients), up to float
    # rounding; 1 process x batch 1 (rank 0's items only) moves the weights elsewhere.
    for batch in ("2", "1"):
        assert main(["train", "--out", str(tmp_path / f"b{batch}"), "--batch", batch, "--val-every", "0",
                     "--diag-every", "0", *COMMON]) == 0
    moved, same, half = update(ddp), update(tmp_path / "b2"), update(tmp_path / "b1")
    assert float((moved - same).norm() / same.norm()) < UPDATE_RTOL
    assert float((moved - half).norm() / half.norm()) > 0.1
    weights, reference = load_file(ddp / "last.safetensors"), load_file(tmp_path / "b2" / "last.safetensors")
    for key, value in reference.items():
        torch.testing.assert_close(weights[key], value, rtol=WEIGHT_RTOL, atol=1e-7)

    # Resume keeps the world size: the data order and the global batch depend on it.
    assert main(["train", "--out", str(ddp), "--resume", "--batch", "1", "--steps", "6", *COMMON[2:]]) == 2


def test_step_items_split_each_global_batch_into_contiguous_rank_slices() -> None:
    assert list(StepItems(3, 7, 4)) == list(range(12, 28))  # one process: batch s is items [s*B, (s+1)*B)
    ranks = [list(StepItems(0, 3, 2, rank, 3)) for rank in range(3)]
    assert ranks[1] == [2, 3, 8, 9, 14, 15] and len(StepItems(0, 3, 2, 1, 3)) == 6
    for s in range(3):  # step s: the ranks' slices, in rank order, are items [s*B*W, (s+1)*B*W)
        assert sum((r[2 * s:2 * s + 2] for r in ranks), []) == list(range(6 * s, 6 * s + 6))
    assert list(StepItems(2, 3, 2, 1, 3)) == ranks[1][4:]  # resuming at step 2 reads what step 2 read


@pytest.mark.parametrize("arch,psf_gain", [("k3dn", "multiply"), ("k3dn", "divide"), ("unet", "multiply")])
def test_every_parameter_gets_a_gradient_without_the_reblur_branch(arch: str, psf_gain: str) -> None:
    """Why DDP runs with find_unused_parameters=False: a step that skips the reblur branch (reblur_every,
    reblur_weight 0) still reaches every parameter, so no rank waits for a gradient that never comes."""
    torch.manual_seed(0)
    model = build_model(TrainConfig(arch=arch, overrides=SMALL | {"psf_gain": psf_gain}))
    x = torch.rand(1, 3, 32, 32)
    restored, reblurred = model.deblur_and_reblur(x, x.roll(1, -1), None)
    assert reblurred is None
    restored.mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
