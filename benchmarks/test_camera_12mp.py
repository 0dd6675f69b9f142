"""A 12 MP frame through `k3dn deblur --tile auto` (issue 31): overlap factor <= 1.15 and peak RSS < 2 GB through
the default exact path; the wall time over the conv probe's time for the frame's MACs (same run) is printed, not
asserted: on a shared machine it measures the neighbours too (docs/camera.md states the measured ratio and how).

    python -m pytest benchmarks/test_camera_12mp.py -m slow -s
"""

from __future__ import annotations

import importlib.util

import pytest
from camera_12mp import frame_gmac, make_pair, overlap, probe_gmac_per_s, run

from k3dn.commands.deblur import resolve_tile

RSS_LIMIT_GB = 2.0
OVERLAP_LIMIT = 1.15


def test_tile_auto_overlap_factor_at_12_mp() -> None:
    assert overlap(str(resolve_tile("auto", None, None, (3000, 4000)))) <= OVERLAP_LIMIT


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("executorch") is None, reason="the default path needs ExecuTorch")
def test_12_mp_default_path_within_2_gb(tmp_path) -> None:
    tile = str(resolve_tile("auto", None, None, (3000, 4000)))
    left, right = make_pair(tmp_path)
    rate = probe_gmac_per_s(2)
    wall, rss = run(left, right, tmp_path / "out.png", "auto", 2, tile)
    print(f"12 MP, --tile auto ({tile} px): {wall:.1f} s = {wall / (frame_gmac() / rate):.2f}x the probe time, "
          f"peak RSS {rss:.2f} GB, overlap factor {overlap(tile):.3f}")
    assert rss < RSS_LIMIT_GB
