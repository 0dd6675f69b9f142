"""Inference-time ablations of a trained K3DN: does each K3DN module change the result?

`ablated(model, parts)` is a context manager that switches parts of the model off for the duration of
the block, without retraining and without touching the normal forward (it swaps instance attributes or
adds forward hooks, and removes them on exit, so the unablated model is bit-identical afterwards):

- "query":   constant kernel weights a = 1/N (Eq. 8 replaced by a uniform softmax), so the PSF gain
             g(a) = N a = 1 everywhere, and uniform blur-size weights 1/M in the selection block
             (selection.py): no disparity-aware selection.
- "kernels": identity inverse kernels (a unit impulse per channel in Eq. 10), so the PSF block applies
             only W^T diag(1/g(a)) W: no PSF inversion, the queried gains kept.
- "srp":     the SRP block (Eq. 11-16) bypassed: the decoder gets the PSF block's deblurred features
             F^_B directly, so no sharp-region preservation.

These are diagnostics of one trained model, not retrained ablations (a network trained without a part
can compensate; this shows how much the trained one relies on it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch import nn

ABLATIONS: dict[str, str] = {
    "query": "a = 1/N",
    "kernels": "identity kernels",
    "srp": "SRP bypassed",
}


def identity_kernels(num: int, size: int, like: torch.Tensor) -> torch.Tensor:
    """num x size x size unit impulses at the centre (a depthwise identity)."""
    k = torch.zeros(num, size, size, dtype=like.dtype, device=like.device)
    k[:, size // 2, size // 2] = 1.0
    return k


@contextmanager
def _constant_query(model: nn.Module) -> Iterator[None]:
    def uniform(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return torch.full_like(output, 1.0 / output.shape[1])

    handles = [model.query.register_forward_hook(uniform)]
    if getattr(model, "select_head", None) is not None:
        handles.append(model.select_head.register_forward_hook(uniform))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _identity_kernels(model: nn.Module) -> Iterator[None]:
    ks = model.kernels
    original = ks.inverse_kernels

    def inverse() -> torch.Tensor:
        inv = original()
        return identity_kernels(ks.num_kernels, ks.kernel_size, inv)

    ks.inverse_kernels = inverse  # instance attribute shadows the method until deleted
    try:
        yield
    finally:
        del ks.inverse_kernels


@contextmanager
def _bypass_srp(model: nn.Module) -> Iterator[None]:
    def passthrough(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return inputs[1]

    handle = model.srp.register_forward_hook(passthrough)
    try:
        yield
    finally:
        handle.remove()


_CONTEXTS = {"query": _constant_query, "kernels": _identity_kernels, "srp": _bypass_srp}


@contextmanager
def ablated(model: nn.Module, parts: Iterable[str]) -> Iterator[nn.Module]:
    """Within the block, `model` runs with `parts` (keys of ABLATIONS) switched off; yields the model."""
    parts = list(parts)
    unknown = [p for p in parts if p not in _CONTEXTS]
    if unknown:
        raise ValueError(f"unknown ablation(s) {unknown}; choose from {sorted(_CONTEXTS)}")
    missing = [p for p in parts if not hasattr(model, p)]  # each ablation is named after the module it swaps
    if missing:
        raise ValueError(f"{type(model).__name__} has no {', '.join(missing)} module to ablate (K3DN only)")
    with ExitStack() as stack:
        for p in parts:
            stack.enter_context(_CONTEXTS[p](model))
        yield model


class AblatedRunner(nn.Module):
    """`model` with `parts` ablated on every call: a module, so any runner (TorchRunner) can run it."""

    def __init__(self, model: nn.Module, parts: Iterable[str]) -> None:
        super().__init__()
        self.model, self.parts = model, tuple(parts)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        with ablated(self.model, self.parts):
            return self.model(left, right)
