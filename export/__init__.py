"""Lowering and on-device export of K3DN: ExecuTorch (.pte), TFLite/LiteRT (.tflite), CoreML (.mlpackage)
and ONNX (.onnx), each checked against the float PyTorch model in its real runtime.

    from k3dn.export.lower import lower                   # inference-only, delegable graph
    from k3dn.export.pipeline import export_backends      # export + audit + parity + sidecar, per backend
    from k3dn.export.runners import open_runner           # run any artifact: runner(left, right) -> sharp

Backend toolchains are imported only when a backend is used, so `import k3dn.export` needs torch alone.
"""

from .common import BACKENDS
from .lower import LoweredK3DN, fold_batchnorm, lower

__all__ = ["BACKENDS", "LoweredK3DN", "fold_batchnorm", "lower"]
