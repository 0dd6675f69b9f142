"""Convert weights between PSF gain forms (psf.py): the first shipped weights run "divide", new
training runs "multiply". `k3dn train --init OLD.safetensors` calls this so a fine-tune of the
shipped model starts from (nearly) the function it had.

divide:   channel j of the deblurred PSF space is s_j x / clip(N a_j, min_gain)
multiply: channel j is s'_j x N a_j

No s' matches for every a; s'_j is the least-squares fit over the pixels of a batch of training
pairs. Where N a_j is constant over space the conversion is exact; on the shipped model (spatial std
of N a 0.02) it moves the 8-pair validation PSNR by 0.003 dB, and a fine-tune takes it from there.
"""

from __future__ import annotations

import copy

import torch

from .model import K3DN


@torch.no_grad()
def to_multiply_gain(model: K3DN, left: torch.Tensor, right: torch.Tensor) -> K3DN:
    """A copy of a psf_gain="divide" model in the "multiply" form, fitted on the pair batch (left, right).

    Per channel j, with u = 1 / clip(N a_j) (divide) and v = N a_j (multiply) over all pixels of the
    batch: argmin_r sum (r v - u)^2 = sum(u v) / sum(v^2); log_scale'_j = log_scale_j + log r.
    """
    if model.config.psf_gain != "divide":
        raise ValueError(f"to_multiply_gain converts a 'divide' model, got psf_gain={model.config.psf_gain!r}")
    from dataclasses import replace

    was = model.training
    model.eval()
    a = model.kernel_weights(left, right).double()
    model.train(was)
    v = a * model.config.num_kernels
    u = 1.0 / v.clamp(min=model.config.min_gain)
    r = (u * v).sum(dim=(0, 2, 3)) / (v * v).sum(dim=(0, 2, 3))
    out = K3DN(replace(model.config, psf_gain="multiply"))
    state = copy.deepcopy(model.state_dict())
    state["psf.log_scale"] = (state["psf.log_scale"].double() + r.log()).float()
    out.load_state_dict(state)
    return out.train(was)
