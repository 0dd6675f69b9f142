"""The inference path's own error types: every bad input or artifact raises one of these, never a bare crash."""

from __future__ import annotations


class PipelineError(ValueError):
    """Bad input to the inference pipeline (shape, dtype, values, levels, sizes); the message names the problem."""


class ArtifactError(PipelineError):
    """An artifact is corrupt, of the wrong input size, or does not match its sidecar JSON."""


class RuntimeUnavailable(RuntimeError):
    """The runtime for an artifact cannot run on this machine (e.g. CoreML on Linux, a missing package)."""
