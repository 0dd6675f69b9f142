"""The camera-pipeline side of k3dn: frames of any size and sensor format through any runner.

    from k3dn.camera import Deblurrer
    from k3dn.camera.runners import open_runner

    sharp = Deblurrer(open_runner("k3dn_tiny_512x512_int8.pte"))(left, right, black=512, white=16383)

Modules: `tiling` (tile grid, feathered blending), `levels` (black/white level, bit depth, per-view gain),
`raw` (DP raw unpackers), `deblurrer` (the tiled runner driver). None of them imports training, data or
export code.
"""

from .deblurrer import DEFAULT_OVERLAP, DEFAULT_TILE, Deblurrer, check_pair
from .levels import flat_field_gains, from_unit, to_unit
from .tiling import Tile, tile_grid, tile_starts

__all__ = ["DEFAULT_OVERLAP", "DEFAULT_TILE", "Deblurrer", "Tile", "check_pair", "flat_field_gains", "from_unit",
           "tile_grid", "tile_starts", "to_unit"]
