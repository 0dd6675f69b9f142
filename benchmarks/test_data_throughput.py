"""Does the DP simulator keep up with training? (run on request: `python -m pytest benchmarks`)

Target: on one core, simulating a training batch (4 patches of 128 x 128, the `k3dn train` default)
takes under half a K3DN-Tiny training step on the same batch, so the default two DataLoader workers
never starve the trainer. Both are measured in the same run on the same machine, and the assertion
is on their ratio, so the benchmark holds on a fast or a slow CPU.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from k3dn.data import TrainDataset
from k3dn.training.trainer import TrainConfig, Trainer

BATCH, PATCH, ROUNDS = 4, 128, 3
MAX_DATA_TO_STEP = 0.5


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _train_step_seconds(batch: dict) -> float:
    """Median wall time of `Trainer.train_step`, the step `k3dn train` runs, at the default config."""
    trainer = Trainer(TrainConfig(out="unused", batch=BATCH, patch=PATCH), dataset=None)
    times = []
    for _ in range(ROUNDS + 1):  # the first step warms up oneDNN's kernel cache and is dropped
        start = time.perf_counter()
        trainer.train_step(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def test_simulated_batch_is_cheaper_than_a_train_step(benchmark, one_thread) -> None:
    dataset = TrainDataset(patch=PATCH, seed=1)
    dataset[0]  # first call loads the bundled photographs
    counter = iter(range(1, 10_000))

    def make_batch() -> list[dict]:
        return [dataset[next(counter)] for _ in range(BATCH)]

    items = benchmark.pedantic(make_batch, rounds=ROUNDS, iterations=1)
    batch = {k: torch.stack([it[k] for it in items]) for k in ("left", "right", "sharp", "blurry")}
    step = _train_step_seconds(batch)
    data = benchmark.stats.stats.median
    ratio = data / step
    benchmark.extra_info.update(train_step_s=step, data_to_step=ratio)
    assert ratio < MAX_DATA_TO_STEP, (f"simulating a batch takes {data:.2f} s on one core, {ratio:.2f} of a "
                                      f"{step:.2f} s train step (target < {MAX_DATA_TO_STEP})")
