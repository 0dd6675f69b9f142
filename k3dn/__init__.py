"""k3dn: K3DN dual-pixel defocus deblurring, from training to phones."""

from .errors import WeightsError
from .network.config import VARIANTS, K3DNConfig
from .network.model import K3DN, create
from .network.weights_io import load_model, load_pretrained, load_weights, save_weights

__all__ = ["K3DN", "K3DNConfig", "VARIANTS", "WeightsError", "create", "load_model", "load_pretrained",
           "load_weights", "save_weights"]
__version__ = "0.1.0"
