"""How much faster than today's trainer are the fast settings, at the same loss?

Run on request: `python -m pytest benchmarks/test_train_throughput.py -s`.

Today's trainer (fp32 eager, NCHW) and the fast settings (bf16 autocast + channels_last) train from the
same seed on the same simulated batches (4 x 128^2, the `k3dn train` default), their steps interleaved so
that load from other jobs hits both alike. Asserted: the median step-time ratio, and that after STEPS steps
the fast model's fp32 training loss on a held-out batch is within 2 % of the fp32 model's.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from k3dn.data import TrainDataset
from k3dn.training.distributed import bf16_is_emulated
from k3dn.training.losses import k3dn_loss
from k3dn.training.trainer import TrainConfig, Trainer

BATCH, PATCH, STEPS = 4, 128, 8
# Measured here (2 shared cores, 2 threads): 1.91x and 2.09x in two runs. The target is 2x; the
# assertion is a floor that load from other jobs cannot break, the printed ratio is the result.
MIN_SPEEDUP, MAX_LOSS_GAP = 1.6, 0.02
FAST = {"precision": "bf16", "channels_last": True}
KEYS = ("left", "right", "sharp", "blurry")


def _batches(n: int) -> list[dict]:
    data = TrainDataset(patch=PATCH, seed=1)
    return [{k: torch.stack([data[s * BATCH + i][k] for i in range(BATCH)]) for k in KEYS} for s in range(n)]


@torch.no_grad()
def _loss(trainer: Trainer, batch: dict) -> float:
    """fp32, NCHW training loss (Eq. 18) of the trainer's model on `batch`."""
    model = trainer.model.to(memory_format=torch.contiguous_format)
    restored, reblurred = model.deblur_and_reblur(batch["left"], batch["right"], batch["sharp"])
    return float(k3dn_loss(restored, batch["sharp"], reblurred, batch["blurry"])["loss"])


@pytest.mark.skipif(bf16_is_emulated(torch.device("cpu")),
                    reason="this CPU has no native bf16 (avx512_bf16 / amx_bf16): bf16 autocast is emulated, about 10x "
                           "slower than fp32 (measured on an AVX2 AMD EPYC), so the fast settings are not fast here")
def test_fast_trainer_is_twice_as_fast_at_the_same_loss(benchmark) -> None:
    batches = _batches(STEPS + 1)
    held_out = batches.pop()
    today = Trainer(TrainConfig(out="unused", batch=BATCH, patch=PATCH, warmup=2, lr=1e-3), None)
    fast = Trainer(TrainConfig(out="unused", batch=BATCH, patch=PATCH, warmup=2, lr=1e-3, **FAST), None)
    times: dict[str, list[float]] = {"today": [], "fast": []}

    def run_all() -> None:
        for batch in batches:
            for name, trainer in (("today", today), ("fast", fast)):
                start = time.perf_counter()
                trainer.train_step(batch)
                times[name].append(time.perf_counter() - start)

    benchmark.pedantic(run_all, rounds=1, iterations=1)
    # the first two steps warm up oneDNN's kernel caches (and step 1 has no gradient past the decoder)
    t_today, t_fast = statistics.median(times["today"][2:]), statistics.median(times["fast"][2:])
    speedup = t_today / t_fast
    a, b = today.model.state_dict(), fast.model.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a), "bf16 training gave bit-identical weights: autocast inactive?"
    loss_today, loss_fast = _loss(today, held_out), _loss(fast, held_out)
    gap = abs(loss_fast - loss_today) / loss_today
    benchmark.extra_info.update(today_step_s=t_today, fast_step_s=t_fast, speedup=speedup,
                                loss_today=loss_today, loss_fast=loss_fast, loss_gap=gap)
    print(f"\nstep {t_today:.3f} s -> {t_fast:.3f} s ({speedup:.2f}x, threads {torch.get_num_threads()}); "
          f"held-out loss after {STEPS} steps {loss_today:.6f} (fp32) vs {loss_fast:.6f} ({gap:.3%})")
    assert gap < MAX_LOSS_GAP, f"bf16 loss {loss_fast:.5f} is {gap:.2%} from fp32's {loss_today:.5f}"
    assert speedup >= MIN_SPEEDUP, f"fast settings are only {speedup:.2f}x today's trainer (target {MIN_SPEEDUP}x)"
