"""k3dn's user-facing error types: every bad input, weights file or artifact raises one of these, never a bare
crash. The module imports nothing, so every layer (the network included) may raise them."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: `k3dn` reports it as one line, `k3dn <cmd>: error: ...`, and exit 2."""


class WeightsError(UserError, ValueError):
    """A weights file is missing, corrupt or does not match the model."""


class PipelineError(ValueError):
    """Bad input to the inference pipeline (shape, dtype, values, levels, sizes); the message names the problem."""


class ArtifactError(PipelineError):
    """An artifact is corrupt, of the wrong input size, or does not match its sidecar JSON."""


class RuntimeUnavailable(RuntimeError):
    """The runtime for an artifact cannot run on this machine (e.g. CoreML on Linux, a missing package)."""
