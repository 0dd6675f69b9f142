"""The real-capture validation set: seven Canon DP scenes with ground truth and DPDNet's outputs.

The files live in the shared data folder beside the repository, `../shared/data/real-dp/` from the repo
root (CI keeps a copy of shared/ beside the clone); `--real-dp-root` or the K3DN_REAL_DP environment
variable point elsewhere. Per scene NN (its README gives the provenance and licence):
`canon_NN_{left,right}.png` the DP views, `canon_NN_gt.png` the all-in-focus ground truth and
`canon_NN_dpdnet.png` the output of DPDNet (Abuolaim & Brown, ECCV 2020), all 840 x 560, 8-bit, passed
through a 256-colour GIF palette.

Scoring follows the README: the ground-truth and DPDNet frames carry a text label in their top-left
corner, so every method is scored on rows 64 and below only (the model still sees the whole frame); the
input is (left + right) / 2.

VALIDATION ONLY. Never train or calibrate on these scenes, and never choose a checkpoint by them alone:
seven scenes are too few to tune on without fitting them, and the shipped model is also scored on real
captures that no one here has. `k3dn train --data` refuses this folder.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = REPO_ROOT.parent / "shared" / "data" / "real-dp"
ENV_VAR = "K3DN_REAL_DP"
LABEL_ROWS = 64  # text label in the top-left corner of the gt / dpdnet frames
PARTS = ("left", "right", "gt", "dpdnet")


def find_root(override: str | Path | None = None) -> Path:
    """The real-dp folder: `override`, else $K3DN_REAL_DP, else ../shared/data/real-dp from the repo root.

    Raises FileNotFoundError naming where it looked and how to point elsewhere."""
    chosen = override or os.environ.get(ENV_VAR) or DEFAULT_ROOT
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"real-dp validation set not found at {root} (expected ../shared/data/real-dp beside "
                                f"the repository; pass --real-dp-root DIR or set {ENV_VAR})")
    return root


def scene_names(root: Path) -> list[str]:
    """Scenes with all four files (left, right, gt, dpdnet), sorted."""
    stems = sorted({p.name[: -len("_gt.png")] for p in root.glob("canon_*_gt.png")})
    return [s for s in stems if all((root / f"{s}_{part}.png").is_file() for part in PARTS)]


def is_real_dp(path: str | Path) -> bool:
    """True if `path` is (or is inside) a real-dp validation folder: one that holds canon_*_gt.png files
    next to their DPDNet outputs, or the default location."""
    p = Path(path).expanduser().resolve()
    if DEFAULT_ROOT.exists() and (p == DEFAULT_ROOT.resolve() or DEFAULT_ROOT.resolve() in p.parents):
        return True
    return p.is_dir() and bool(scene_names(p))


def load_real_dp(root: str | Path | None = None) -> list[dict]:
    """Eval items (see k3dn/evaluation/scoring.py): `left`, `right`, `sharp` (the ground truth), `dpdnet`, `name`,
    and `score_top` = LABEL_ROWS, the first row that is scored."""
    from ..io import read_image

    root = find_root(root)
    names = scene_names(root)
    if not names:
        raise FileNotFoundError(f"{root}: no canon_NN scene with left, right, gt and dpdnet PNGs")
    items = []
    for name in names:
        arrays = {part: read_image(root / f"{name}_{part}.png")[0] for part in PARTS}
        shapes = {part: a.shape for part, a in arrays.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"{root / name}: the four frames differ in size: {shapes}")
        items.append({"left": arrays["left"], "right": arrays["right"], "sharp": arrays["gt"],
                      "dpdnet": arrays["dpdnet"], "name": name, "score_top": LABEL_ROWS})
    return items
