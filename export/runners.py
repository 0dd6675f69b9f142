"""The runners live on the inference side, in `k3dn.runners`; this module keeps the export-side name.

    from k3dn.export.runners import open_runner      # same objects as k3dn.runners
"""

from k3dn.errors import RuntimeUnavailable
from k3dn.runners import (
    CoreMLRunner,
    ExecuTorchRunner,
    LiteRTRunner,
    OnnxRuntimeRunner,
    Runner,
    TorchRunner,
    open_runner,
)

__all__ = ["CoreMLRunner", "ExecuTorchRunner", "LiteRTRunner", "OnnxRuntimeRunner", "Runner", "RuntimeUnavailable",
           "TorchRunner", "open_runner"]
