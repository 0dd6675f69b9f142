"""Data-parallel training under torchrun: which process this is, the process group, and each rank's items.

`k3dn train` under `torchrun --nproc_per_node W` (see k3dn/training/trainer.py): every process trains a replica on its
own B items, DistributedDataParallel averages the gradients, so the global batch is B*W.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but no CUDA device is available")
    return torch.device(name)


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str] | None:
    """The CPU's feature flags as Linux reports them, or None where they cannot be read (macOS, Windows)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def bf16_is_emulated(device: torch.device, flags: set[str] | None = None) -> bool:
    """True when bf16 autocast on `device` would run without native bf16 arithmetic: a CPU with neither
    AVX-512 BF16 nor AMX. oneDNN then converts every conv to and from fp32; measured on a 2-core AVX2 AMD EPYC
    (Zen 3), `k3dn train --precision bf16` took 13 s/step against 1.3 s/step in fp32. False when unknown."""
    if device.type != "cpu":
        return False
    flags = cpu_flags() if flags is None else flags
    return flags is not None and not any(f in flags for f in NATIVE_BF16_FLAGS)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a data-parallel run: torchrun's RANK, WORLD_SIZE and LOCAL_RANK."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run directory, validates and shows progress."""
        return self.rank == 0

    @classmethod
    def from_env(cls) -> DistInfo:
        """Read torchrun's environment; a plain `k3dn train` (no WORLD_SIZE) is the single process."""
        info = cls(*(int(os.environ.get(k, d)) for k, d in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0))))
        if info.world_size < 1 or not 0 <= info.rank < info.world_size:
            raise ValueError(f"RANK {info.rank} is not in [0, WORLD_SIZE={info.world_size})")
        return info


def init_distributed(device: str) -> DistInfo:
    """Join the data-parallel run torchrun started, if any: the process group over env:// (NCCL when
    `device` resolves to CUDA, each process on cuda:LOCAL_RANK; gloo on CPU). A single process (no
    WORLD_SIZE, or 1) gets DistInfo() and no process group. Pair with `close_distributed`."""
    info = DistInfo.from_env()
    if info.world_size == 1:
        return info
    import torch.distributed as dist

    cuda = resolve_device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(info.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return info


def close_distributed() -> None:
    """Destroy the process group `init_distributed` created (no-op in a single process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class StepItems:
    """The dataset indices rank `rank` of `world` reads, in order, for global steps [start, stop).

    Global step s covers items [s*B*W, (s+1)*B*W); rank r takes the contiguous B items from s*B*W + r*B.
    With W = 1 this is range(start*B, stop*B), the single-process order.
    """

    def __init__(self, start: int, stop: int, batch: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.stop, self.batch, self.rank, self.world = start, stop, batch, rank, world

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch

    def __iter__(self) -> Iterator[int]:
        b, w = self.batch, self.world
        return itertools.chain.from_iterable(range(s * b * w + self.rank * b, s * b * w + (self.rank + 1) * b)
                                             for s in range(self.start, self.stop))
