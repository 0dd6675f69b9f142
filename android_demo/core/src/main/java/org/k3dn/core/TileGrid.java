package org.k3dn.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The tile grid that covers a frame, exactly as {@code k3dn.camera.tiling} computes it.
 *
 * <p>Along one axis: one tile if the frame fits, else origins every {@code tile - overlap} pixels with the
 * last tile flush with the frame's end. Tiles are listed row-major (y outer).
 */
public final class TileGrid {
    private TileGrid() {
    }

    /**
     * Tile origins along one axis (Python {@code tile_starts}).
     *
     * @throws IllegalArgumentException unless tile > 0 and 0 <= overlap < tile
     */
    public static int[] tileStarts(int size, int tile, int overlap) {
        if (tile <= 0 || overlap < 0 || overlap >= tile) {
            throw new IllegalArgumentException(
                    "need tile > 0 and 0 <= overlap < tile, got tile=" + tile + ", overlap=" + overlap);
        }
        if (size <= tile) {
            return new int[] {0};
        }
        int step = tile - overlap;
        int n = (size - tile + step - 1) / step; // len(range(0, size - tile, step))
        int[] starts = new int[n + 1];
        for (int i = 0; i < n; i++) {
            starts[i] = i * step;
        }
        starts[n] = size - tile;
        return starts;
    }

    /** The tiles covering a height x width frame, row-major; each at most tileH x tileW (Python {@code tile_grid}). */
    public static List<Tile> grid(int height, int width, int tileH, int tileW, int overlap) {
        int th = Math.min(tileH, height);
        int tw = Math.min(tileW, width);
        int[] ys = tileStarts(height, tileH, overlap);
        int[] xs = tileStarts(width, tileW, overlap);
        List<Tile> tiles = new ArrayList<Tile>(ys.length * xs.length);
        for (int y : ys) {
            for (int x : xs) {
                tiles.add(new Tile(y, x, th, tw));
            }
        }
        return tiles;
    }
}
