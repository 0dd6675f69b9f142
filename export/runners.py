"""The runners live on the inference side, in `k3dn.camera.runners`; this module keeps the export-side name.

    from k3dn.export.runners import open_runner      # same objects as k3dn.camera.runners
"""

from k3dn.camera.runners import (
    CoreMLRunner,
    ExecuTorchRunner,
    LiteRTRunner,
    OnnxRuntimeRunner,
    Runner,
    TorchRunner,
    open_runner,
)
from k3dn.errors import RuntimeUnavailable

__all__ = ["CoreMLRunner", "ExecuTorchRunner", "LiteRTRunner", "OnnxRuntimeRunner", "Runner", "RuntimeUnavailable",
           "TorchRunner", "open_runner"]
