"""Where each target's numbers were checked, for the bench JSON's `verification` block and its Markdown.

- here: the rows this run measured, on this machine's CPU (their artifacts passed the export/int8 parity checks
  against the float model in the same runtime);
- under emulation: the aarch64 rows of `bash benchmarks/arm_parity.sh` (qemu-aarch64, several ARM CPU models,
  against x86 on the same artifact), read from the JSON it last wrote on this machine, if any;
- never run: targets no machine of this project executes (docs/arm.md).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

NEVER_RUN = (
    "CoreML predictions (CPU, GPU, Neural Engine; .mlpackage and the ExecuTorch CoreML-delegate .pte): macOS only; "
    "conversion and audit run here",
    "phone GPUs (ExecuTorch Vulkan .pte, LiteRT GPU, OpenCL): no GPU here; the Vulkan export and its audit run here",
    "phone NPUs (NNAPI, Qualcomm QNN, MediaTek, Samsung): vendor SDKs and hardware no registry serves",
    "the Android app on a phone: its Java core and JNI runner run on the JVM (android_demo/run-tests.sh)",
)


def arm_parity_json() -> Path:
    """Where benchmarks/arm_parity.sh writes its results by default: $K3DN_ARM_CACHE/arm_parity.json."""
    root = os.environ.get("K3DN_ARM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / \
        "k3dn-arm"
    return Path(root) / "arm_parity.json"


def emulated(path: Path) -> dict:
    """The arm_parity rows as {backend-precision: {cpu: PASS | FAIL | SKIPPED}}, with when and how they ran."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"status": "not run on this machine", "how": "bash benchmarks/arm_parity.sh", "source": str(path)}
    rows: dict[str, dict[str, str]] = {}
    for r in doc.get("rows", []):
        rows.setdefault(f"{r['backend']}-{r['precision']}", {})[r["cpu"]] = r["status"]
    return {"status": "FAIL" if doc.get("counts", {}).get("FAIL") else "PASS", "source": str(path),
            "created": doc.get("created"), "qemu": doc.get("qemu"), "input_size": doc.get("size"),
            "cpus": doc.get("cpus"), "tolerance": doc.get("tolerance"), "rows": rows}


def verification(results: list, arm_json: Path | None = None) -> dict:
    """The `verification` block: rows measured here, rows checked under emulation, targets never run."""
    here = sorted({r.row for r in results if r.status == "ok" and not r.device})
    return {"here": {"machine": platform.machine(), "rows": here},
            "emulated_aarch64": emulated(arm_json or arm_parity_json()), "never_run": list(NEVER_RUN)}


def verification_lines(block: dict) -> str:
    """Markdown bullets of the block."""
    emu = block["emulated_aarch64"]
    if "rows" in emu:
        rows = ", ".join(f"{row} ({'/'.join(sorted(set(cpus.values())))})" for row, cpus in emu["rows"].items())
        emu_text = (f"{rows} on {', '.join(emu['cpus'] or [])} under {emu['qemu']} ({emu['created']}, "
                    f"`bash benchmarks/arm_parity.sh`)")
    else:
        emu_text = f"{emu['status']} (`{emu['how']}`)"
    return "\n".join([f"- verified here ({block['here']['machine']}): {', '.join(block['here']['rows']) or 'none'}",
                      f"- verified under emulation (aarch64): {emu_text}",
                      *(f"- never run: {t}" for t in block["never_run"])])
