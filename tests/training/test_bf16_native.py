"""bf16 autocast on a CPU without native bf16 is emulated: the trainer's check and its warning."""

from __future__ import annotations

from pathlib import Path

import torch

from k3dn.training.distributed import bf16_is_emulated, cpu_flags


def test_cpu_flags_reads_the_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n\n")
    assert cpu_flags(str(info)) == {"fpu", "sse2", "avx2", "fma"}
    assert cpu_flags(str(tmp_path / "missing")) is None


def test_bf16_is_emulated_only_on_a_cpu_without_bf16_flags() -> None:
    cpu = torch.device("cpu")
    assert bf16_is_emulated(cpu, {"avx2", "fma"})
    assert not bf16_is_emulated(cpu, {"avx2", "avx512f", "avx512_bf16"})
    assert not bf16_is_emulated(cpu, {"amx_bf16", "amx_tile"})
    assert not bf16_is_emulated(torch.device("cuda"), {"avx2"})
