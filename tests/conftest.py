"""Shared test constants (tests import them as `from conftest import ...`)."""

from __future__ import annotations

# A K3DN small enough that CLI and training tests run in seconds (same modules, fewer channels).
SMALL_OVERRIDES = {"widths": (8, 8, 16), "feat_channels": 16, "num_kernels": 16, "enc_blocks": (1, 1, 1, 1),
                   "dec_blocks": (1, 1, 1), "disp_channels": 8, "disp_features": 8, "window": 3}



import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _artifact_cache(tmp_path_factory, monkeypatch):
    """Artifacts exported on demand (k3dn.artifacts) go to one temporary cache per session, never ~/.cache."""
    monkeypatch.setenv("K3DN_CACHE", str(tmp_path_factory.getbasetemp() / "k3dn_cache"))
