"""Quality of a quantized model on the project's evaluation set, against ground truth and the float model,
and the table / numerics file that collect it per backend x precision.

Scores: PSNR and SSIM against ground truth (k3dn.evaluation.metrics, the eval table's definitions), PSNR of the
output against the float PyTorch model's output, each the mean over the evaluation pairs. The drop is
float PSNR(GT) - quantized PSNR(GT). Budget: drop <= 0.2 dB and int8 file <= 30% of the fp32
file of the same backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from k3dn.evaluation.metrics import psnr, ssim

BUDGET_DB = 0.2
BUDGET_SIZE_RATIO = 0.30
NUMERICS_FORMAT = "k3dn-numerics-v1"

NumpyRunner = Callable[[np.ndarray, np.ndarray], np.ndarray]


def nchw(image: np.ndarray) -> np.ndarray:
    """H x W x 3 -> 1 x 3 x H x W float32, contiguous."""
    return np.ascontiguousarray(np.asarray(image, np.float32).transpose(2, 0, 1)[None])


def hwc(batch: np.ndarray) -> np.ndarray:
    return np.asarray(batch[0], np.float32).transpose(1, 2, 0)


def float_outputs(model: torch.nn.Module, items: Sequence[dict], progress: bool = True) -> list[np.ndarray]:
    """The float PyTorch model's outputs (H x W x 3) on every evaluation pair."""
    outs = []
    with torch.no_grad():
        for item in tqdm(items, desc="float reference", unit="pair", disable=not progress, leave=False):
            out = model(torch.from_numpy(nchw(item["left"])), torch.from_numpy(nchw(item["right"])))
            outs.append(hwc(out.numpy()))
    return outs


@dataclass
class Scores:
    """Mean PSNR/SSIM vs ground truth and mean PSNR vs the float model's output over n pairs."""

    psnr_gt: float
    ssim_gt: float
    psnr_vs_float: float
    n: int

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v) for k, v in asdict(self).items()}


def score(run: NumpyRunner, items: Sequence[dict], reference: Sequence[np.ndarray], desc: str = "eval",
          progress: bool = True, with_ssim: bool = True) -> Scores:
    """Run `run(left, right)` (NCHW numpy) on every item and score it against GT and `reference`."""
    outputs = [hwc(run(nchw(item["left"]), nchw(item["right"])))
               for item in tqdm(items, desc=desc, unit="pair", disable=not progress, leave=False)]
    return score_outputs(outputs, items, reference, with_ssim)


def score_outputs(outputs: Sequence[np.ndarray], items: Sequence[dict], reference: Sequence[np.ndarray],
                  with_ssim: bool = True) -> Scores:
    """Score H x W x 3 outputs against each item's GT and against `reference` (the float outputs)."""
    p_gt, s_gt, p_fl = [], [], []
    for out, item, ref in zip(outputs, items, reference, strict=True):
        out = np.clip(out, 0.0, 1.0)
        p_gt.append(psnr(out, item["sharp"]))
        s_gt.append(ssim(out, item["sharp"]) if with_ssim else float("nan"))
        p_fl.append(min(psnr(out, ref), 200.0))  # identical outputs: cap inf so the mean stays finite
    return Scores(float(np.mean(p_gt)), float(np.mean(s_gt)), float(np.mean(p_fl)), len(p_gt))


@dataclass
class Row:
    """One backend x precision line of the quality table."""

    backend: str
    precision: str
    artifact: str | None
    bytes: int | None
    fp32_bytes: int | None
    scores: Scores | None
    float_psnr_gt: float | None
    float_layers: list[str] = field(default_factory=list)
    status: str = "ok"  # ok / skipped / failed
    note: str = ""

    @property
    def drop_db(self) -> float | None:
        if self.scores is None or self.float_psnr_gt is None:
            return None
        return self.float_psnr_gt - self.scores.psnr_gt

    @property
    def size_ratio(self) -> float | None:
        return self.bytes / self.fp32_bytes if self.bytes and self.fp32_bytes else None

    @property
    def quantized(self) -> bool:
        return self.precision not in ("fp32", "fp16")

    def budget(self) -> dict[str, bool | None]:
        """Pass/fail of the dB and size budgets (None: not measurable here, or not a quantized row)."""
        if not self.quantized:
            return {"db": None, "size": None}
        drop, ratio = self.drop_db, self.size_ratio
        return {"db": None if drop is None else drop <= BUDGET_DB + 1e-9,
                "size": None if ratio is None else ratio <= BUDGET_SIZE_RATIO}

    def to_dict(self) -> dict:
        drop, ratio = self.drop_db, self.size_ratio
        return {"backend": self.backend, "precision": self.precision, "artifact": self.artifact,
                "bytes": self.bytes, "fp32_bytes": self.fp32_bytes,
                "size_ratio": None if ratio is None else round(ratio, 4),
                "scores": self.scores.to_dict() if self.scores else None,
                "drop_db": None if drop is None else round(drop, 4),
                "budget_pass": self.budget(), "float_layers": self.float_layers, "status": self.status,
                "note": self.note}


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _verdict(ok: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "-"}[ok]


def format_table(rows: Sequence[Row], float_scores: Scores | None = None) -> str:
    """Markdown quality table, one row per backend x precision (the float PyTorch model first)."""
    lines = ["| backend | precision | PSNR vs GT | SSIM | drop vs float (dB) | PSNR vs float | size MB | "
             "size / fp32 | budget ≤0.2 dB | budget ≤30% | notes |",
             "|---|---|---:|---:|---:|---:|---:|---:|:---:|:---:|---|"]
    if float_scores is not None:
        fs = float_scores
        lines.append(f"| PyTorch (eager) | fp32 | {fs.psnr_gt:.2f} | {fs.ssim_gt:.4f} | 0 | - | - | - | - | - | "
                     "float reference |")
    for r in rows:
        s, b = r.scores, r.budget()
        notes = r.note if r.status == "ok" else f"{r.status}: {r.note}"
        if r.float_layers:
            notes = f"float: {', '.join(r.float_layers)}" + (f"; {notes}" if notes else "")
        lines.append(
            f"| {r.backend} | {r.precision} | {_cell(s and s.psnr_gt, '{:.2f}')} | "
            f"{_cell(s and s.ssim_gt, '{:.4f}')} | "
            f"{_cell(r.drop_db, '{:+.3f}')} | {_cell(s and s.psnr_vs_float, '{:.1f}')} | "
            f"{_cell(r.bytes and r.bytes / 1e6, '{:.2f}')} | {_cell(r.size_ratio, '{:.1%}')} | "
            f"{_verdict(b['db'])} | {_verdict(b['size'])} | {notes} |")
    return "\n".join(lines)


def numerics(command: str, weights_info: dict, size: tuple[int, int], eval_desc: dict, calib: dict,
             float_scores: Scores, rows: Sequence[Row], extra: dict | None = None) -> dict:
    """The checked-in numerics file: every backend x precision row, and how to regenerate it."""
    return {
        "format": NUMERICS_FORMAT,
        "command": command,
        "weights": weights_info,
        "input_size": list(size),
        "eval_set": eval_desc,
        "calibration_set": calib,
        "budget": {"drop_db": BUDGET_DB, "size_ratio": BUDGET_SIZE_RATIO},
        "float": float_scores.to_dict(),
        "rows": [r.to_dict() for r in rows],
        **(extra or {}),
    }


_ROW_KEYS = {"backend": str, "precision": str, "status": str, "float_layers": list, "budget_pass": dict}


def check_numerics(obj: dict) -> list[str]:
    """Schema problems of a numerics file (empty when it is well formed)."""
    problems = []
    for key, typ in (("format", str), ("command", str), ("weights", dict), ("input_size", list), ("eval_set", dict),
                     ("calibration_set", dict), ("budget", dict), ("float", dict), ("rows", list)):
        if not isinstance(obj.get(key), typ):
            problems.append(f"{key}: expected {typ.__name__}, got {type(obj.get(key)).__name__}")
    if problems:
        return problems
    if obj["format"] != NUMERICS_FORMAT:
        problems.append(f"format {obj['format']!r} != {NUMERICS_FORMAT!r}")
    if not obj["command"].startswith("k3dn quantize"):
        problems.append("command must be the `k3dn quantize ...` line that wrote the file")
    if "file_sha256" not in obj["weights"] and "state_sha256" not in obj["weights"]:
        problems.append("weights: no sha256")
    for key in ("psnr_gt", "ssim_gt", "n"):
        if key not in obj["float"]:
            problems.append(f"float: missing {key}")
    for i, row in enumerate(obj["rows"]):
        for key, typ in _ROW_KEYS.items():
            if not isinstance(row.get(key), typ):
                problems.append(f"rows[{i}].{key}: expected {typ.__name__}")
        if row.get("status") == "ok" and row.get("scores") is not None:
            for key in ("psnr_gt", "ssim_gt", "psnr_vs_float", "n"):
                if not isinstance(row["scores"].get(key), int | float):
                    problems.append(f"rows[{i}].scores.{key}: expected a number")
        if row.get("status") == "ok" and not isinstance(row.get("bytes"), int):
            problems.append(f"rows[{i}].bytes: expected an int")
    return problems


def row_keys(obj: dict) -> list[tuple[str, str, str]]:
    """(backend, precision, status) of every row: the structure a fresh run must reproduce."""
    return [(r["backend"], r["precision"], r["status"]) for r in obj["rows"]]
