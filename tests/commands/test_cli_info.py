"""`k3dn info` prints our parameter and MAC counts beside the paper's."""

from __future__ import annotations

import subprocess
import sys


def test_info_prints_table_with_paper_figures() -> None:
    out = subprocess.run([sys.executable, "-m", "k3dn.cli", "info"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines() if line.split()[:1] in
            (["tiny"], ["lightweight"], ["large"])}
    assert set(rows) == {"tiny", "lightweight", "large"}
    for name, paper_params, paper_gmacs in (("tiny", 3.00, 571), ("lightweight", 5.00, 1033), ("large", 15.9, 3352)):
        cols = rows[name]
        assert float(cols[2]) == paper_params and float(cols[5]) == paper_gmacs
        assert abs(float(cols[1]) / paper_params - 1) <= 0.10
        assert float(cols[4]) > 0


def test_unknown_variant_is_rejected() -> None:
    out = subprocess.run([sys.executable, "-m", "k3dn.cli", "info", "--variant", "huge"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "invalid choice" in out.stderr
