package org.k3dn.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Tile grid and blend weights against k3dn.camera.tiling (exact: same integers, bit-identical floats). */
class TilingGoldenTest {
    @Test
    void tileStartsMatchPython() {
        int n = GoldenVectors.intProp("tile_starts.count");
        for (int i = 0; i < n; i++) {
            int[] a = GoldenVectors.ints("tile_starts." + i + ".args");
            assertArrayEquals(GoldenVectors.ints("tile_starts." + i + ".result"), TileGrid.tileStarts(a[0], a[1], a[2]),
                    "tile_starts" + java.util.Arrays.toString(a));
        }
    }

    @Test
    void tileGridMatchesPythonInRowMajorOrder() {
        int n = GoldenVectors.intProp("tile_grid.count");
        for (int i = 0; i < n; i++) {
            int[] a = GoldenVectors.ints("tile_grid." + i + ".args");
            int[] want = GoldenVectors.i32("tile_grid_" + i);
            List<Tile> tiles = TileGrid.grid(a[0], a[1], a[2], a[3], a[4]);
            assertEquals(want.length / 4, tiles.size(), "tile count for grid " + i);
            for (int k = 0; k < tiles.size(); k++) {
                Tile t = tiles.get(k);
                assertArrayEquals(new int[] {want[4 * k], want[4 * k + 1], want[4 * k + 2], want[4 * k + 3]},
                        new int[] {t.y, t.x, t.h, t.w}, "grid " + i + " tile " + k);
            }
        }
    }

    @Test
    void rampsAreBitIdenticalToPython() {
        int n = GoldenVectors.intProp("ramp.count");
        for (int i = 0; i < n; i++) {
            int[] a = GoldenVectors.ints("ramp." + i + ".args");
            assertArrayEquals(GoldenVectors.f32("ramp_" + i), Blend.ramp(a[0], a[1], a[2] != 0, a[3] != 0), 0f,
                    "blend_ramp" + java.util.Arrays.toString(a));
        }
    }

    @Test
    void tileWeightsAreBitIdenticalToPython() {
        int[] a = GoldenVectors.ints("tile_grid.0.args");
        float[] want = GoldenVectors.f32("tile_weights_0");
        List<Tile> tiles = TileGrid.grid(a[0], a[1], a[2], a[3], a[4]);
        int per = want.length / tiles.size();
        for (int k = 0; k < tiles.size(); k++) {
            float[] got = Blend.tileWeight(tiles.get(k), a[0], a[1], a[4]);
            assertEquals(per, got.length);
            for (int i = 0; i < per; i++) {
                assertEquals(want[k * per + i], got[i], 0f, "tile " + k + " weight " + i);
            }
        }
    }

    @Test
    void rejectsBadOverlap() {
        assertThrows(IllegalArgumentException.class, () -> TileGrid.tileStarts(100, 32, 32));
        assertThrows(IllegalArgumentException.class, () -> TileGrid.tileStarts(100, 32, -1));
        assertThrows(IllegalArgumentException.class, () -> TileGrid.tileStarts(100, 0, 0));
    }

    @Test
    void gridCoversEveryPixelAndRampsNeverReachZero() {
        int h = 1000;
        int w = 1333;
        int[] cover = new int[h * w];
        for (Tile t : TileGrid.grid(h, w, 512, 512, 96)) {
            float[] wt = Blend.tileWeight(t, h, w, 96);
            for (int i = 0; i < t.h; i++) {
                for (int j = 0; j < t.w; j++) {
                    if (wt[i * t.w + j] > 0f) {
                        cover[(t.y + i) * w + t.x + j]++;
                    }
                }
            }
        }
        for (int i = 0; i < cover.length; i++) {
            if (cover[i] == 0) {
                throw new AssertionError("pixel " + i + " has no positive weight");
            }
        }
    }
}
