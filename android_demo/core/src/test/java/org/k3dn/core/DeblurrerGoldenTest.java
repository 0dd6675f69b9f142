package org.k3dn.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * The tiled reconstruction against k3dn.camera.Deblurrer with the same fake tile runner (make_golden.py's
 * FakeTileRunner): the k-th call returns 0.5 (L + R) + 0.01 (k + 1). Exact match is required: both sides do
 * the same float32 operations in the same order.
 */
class DeblurrerGoldenTest {
    /** The fake network: a per-call constant makes tile order and blending weights visible in the output. */
    static final class FakeTileRunner implements TileRunner {
        private final int tile;
        int calls;

        FakeTileRunner(int tile) {
            this.tile = tile;
        }

        @Override
        public int tileHeight() {
            return tile;
        }

        @Override
        public int tileWidth() {
            return tile;
        }

        @Override
        public float[] run(float[] left, float[] right) {
            assertEquals(3 * tile * tile, left.length);
            float c = (float) (0.01 * (calls + 1));
            calls++;
            float[] out = new float[left.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = 0.5f * (left[i] + right[i]) + c;
            }
            return out;
        }
    }

    private static void check(String name) {
        int[] a = GoldenVectors.ints(name + ".args"); // height, width, tile, overlap
        FakeTileRunner runner = new FakeTileRunner(a[2]);
        Deblurrer d = new Deblurrer(runner, a[3]);
        String dtype = GoldenVectors.prop(name + "_left.dtype");
        if (dtype.equals("f32")) {
            float[] out = d.run(GoldenVectors.f32(name + "_left"), GoldenVectors.f32(name + "_right"), a[0], a[1],
                    Levels.perChannel(0f, 3), Levels.perChannel(1f, 3));
            assertArrayEquals(GoldenVectors.f32(name + "_out"), out, 0f, name);
        } else {
            int[] max = new int[1];
            int[] left = GoldenVectors.samples(name + "_left", max);
            int[] right = GoldenVectors.samples(name + "_right", max);
            boolean levels = GoldenVectors.index().containsKey(name + ".black");
            float[] black = levels ? GoldenVectors.level3(name + ".black") : Levels.perChannel(0f, 3);
            float[] white = levels ? GoldenVectors.level3(name + ".white") : Levels.perChannel(max[0], 3);
            int[] out = d.run(left, right, a[0], a[1], black, white, max[0]);
            int[] want = GoldenVectors.samples(name + "_out", max);
            assertArrayEquals(want, out, name);
        }
        assertEquals(GoldenVectors.intProp(name + ".tiles"), runner.calls, name + ": tiles run");
        assertEquals(runner.calls, d.tiles(a[0], a[1]).size(), name + ": one call per tile");
    }

    @Test
    void float32Frame() {
        check("deblur_f32");
    }

    @Test
    void uint16FrameWithPerChannelBlackLevel() {
        check("deblur_u16");
    }

    @Test
    void uint8FrameSmallerThanTilePadsByReflection() {
        check("deblur_u8_padded");
    }

    @Test
    void uint8FrameWithoutOverlap() {
        check("deblur_u8_no_overlap");
    }

    @Test
    void reflectMatchesNumpyPeriodicReflection() {
        int[] want = {0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2};
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], Deblurrer.reflect(i, 4), "reflect(" + i + ", 4)");
        }
        assertEquals(0, Deblurrer.reflect(5, 1));
    }

    @Test
    void identityRunnerReturnsTheInput() {
        TileRunner identity = new TileRunner() {
            @Override
            public int tileHeight() {
                return 64;
            }

            @Override
            public int tileWidth() {
                return 48;
            }

            @Override
            public float[] run(float[] left, float[] right) {
                return left.clone();
            }
        };
        int h = 150;
        int w = 97;
        int[] v = new int[h * w * 3];
        for (int i = 0; i < v.length; i++) {
            v[i] = (int) ((i * 2654435761L) & 0xffff);
        }
        int[] out = new Deblurrer(identity, 16).run(v, v, h, w, Levels.perChannel(0, 3), Levels.perChannel(65535, 3),
                65535);
        assertArrayEquals(v, out);
    }

    @Test
    void rejectsWhatPythonRejects() {
        assertThrows(IllegalArgumentException.class, () -> new Deblurrer(new FakeTileRunner(64), 20)); // not /16
        assertThrows(IllegalArgumentException.class, () -> new Deblurrer(new FakeTileRunner(64), 32)); // >= tile/2
        assertThrows(IllegalArgumentException.class, () -> new Deblurrer(new FakeTileRunner(40), 0)); // tile not /16
        assertThrows(IllegalArgumentException.class, () -> new Deblurrer(new FakeTileRunner(16), 0)); // below 32
        Deblurrer d = new Deblurrer(new FakeTileRunner(32), 0);
        assertThrows(IllegalArgumentException.class, () -> d.run(new int[31 * 40 * 3], new int[31 * 40 * 3], 31, 40,
                Levels.perChannel(0, 3), Levels.perChannel(255, 3), 255)); // frame below 32
        assertThrows(IllegalArgumentException.class, () -> d.run(new int[32 * 32 * 3], new int[32 * 32 * 2], 32, 32,
                Levels.perChannel(0, 3), Levels.perChannel(255, 3), 255));
    }
}
