"""k3dn: K3DN dual-pixel defocus deblurring, from training to phones."""

from .config import VARIANTS, K3DNConfig
from .model import K3DN, create

__all__ = ["K3DN", "K3DNConfig", "VARIANTS", "create"]
__version__ = "0.1.0"
