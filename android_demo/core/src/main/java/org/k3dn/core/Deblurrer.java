package org.k3dn.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Deblur DP frames of any size with a fixed-size {@link TileRunner}, in feathered tiles; the Java twin of
 * {@code k3dn.camera.Deblurrer} (same grid, weights, padding, levels and rounding, tested against golden
 * vectors the Python pipeline writes).
 *
 * <p>Frames are row-major H x W x 3 ("HWC"). The tile grid ({@link TileGrid}) covers the frame rounded up
 * to the network stride and to at least one tile ({@link #paddedSize}); where a tile reaches past the frame,
 * its crop is reflect-padded at the bottom/right like {@code numpy.pad(mode="reflect")} and the result cropped
 * back. Tiles are
 * blended with {@link Blend} weights, sum(w * tile) / sum(w), clipped to [0, 1], and mapped back to the
 * input's levels. Work is done one band of tile rows at a time, so besides the frames only about
 * 2 x tileHeight x W x 16 bytes of float are held.
 *
 * <p>Not thread-safe if the runner is not; one call at a time per instance.
 */
public final class Deblurrer {
    /** Overlap between neighbouring tiles, as Python's {@code DEFAULT_OVERLAP}. */
    public static final int DEFAULT_OVERLAP = 64;
    /** K3DN-Tiny's smallest input side, as Python's {@code MIN_SIZE}. */
    public static final int MIN_SIZE = 32;
    /** The network stride: tile sizes, overlaps and tile origins are multiples of it, as Python's {@code STRIDE}. */
    public static final int STRIDE = 16;
    private static final int C = 3;

    private final TileRunner runner;
    private final int tileH;
    private final int tileW;
    private final int overlap;

    /** A Deblurrer with {@link #DEFAULT_OVERLAP}. */
    public Deblurrer(TileRunner runner) {
        this(runner, DEFAULT_OVERLAP);
    }

    /**
     * A Deblurrer tiling at the runner's fixed size with {@code overlap} pixels of feathering.
     *
     * @throws IllegalArgumentException if the tile is below {@link #MIN_SIZE} or not 0 <= overlap < tile/2
     */
    public Deblurrer(TileRunner runner, int overlap) {
        this.runner = runner;
        this.tileH = runner.tileHeight();
        this.tileW = runner.tileWidth();
        if (Math.min(tileH, tileW) < MIN_SIZE) {
            throw new IllegalArgumentException(
                    "tile " + tileH + "x" + tileW + " is below the model minimum " + MIN_SIZE + "x" + MIN_SIZE);
        }
        if (tileH % STRIDE != 0 || tileW % STRIDE != 0) {
            throw new IllegalArgumentException(
                    "tile " + tileH + "x" + tileW + " must be a multiple of the network stride " + STRIDE);
        }
        if (overlap < 0 || overlap >= Math.min(tileH, tileW) / 2 || overlap % STRIDE != 0) {
            throw new IllegalArgumentException("need 0 <= overlap < tile/2 and a multiple of " + STRIDE
                    + ", got overlap " + overlap + " for tile " + tileH + "x" + tileW);
        }
        this.overlap = overlap;
    }

    /** The overlap in pixels. */
    public int overlap() {
        return overlap;
    }

    /**
     * The frame size the tiles cover, {height, width}: rounded up to the stride and at least one tile. The
     * extra rows/columns are reflections of the frame.
     */
    public int[] paddedSize(int height, int width) {
        int hp = height + Math.floorMod(-height, STRIDE);
        int wp = width + Math.floorMod(-width, STRIDE);
        return new int[] {Math.max(hp, tileH), Math.max(wp, tileW)};
    }

    /** The tile grid over the padded frame (see {@link #paddedSize}); every origin is a multiple of the stride. */
    public List<Tile> tiles(int height, int width) {
        int[] p = paddedSize(height, width);
        return TileGrid.grid(p[0], p[1], tileH, tileW, overlap);
    }

    /**
     * Deblur an integer DP pair (unsigned samples in [0, maxValue], e.g. 255 or 65535); returns the sharp
     * frame in the same levels and range.
     *
     * @param black per-channel black level (3 values)
     * @param white per-channel white level (3 values, above black)
     */
    public int[] run(final int[] left, final int[] right, int height, int width, final float[] black,
                     final float[] white, final int maxValue) {
        checkPair(left.length, right.length, height, width);
        final int[] out = new int[height * width * C];
        drive(new Source() {
            @Override
            float value(boolean isLeft, int i) {
                return (float) (isLeft ? left[i] : right[i]);
            }
        }, height, width, black, white, new Sink() {
            @Override
            void put(int i, float y, float b, float w) {
                float v = y * (w - b) + b;
                double r = Math.floor(v + 0.5f);
                out[i] = r <= 0 ? 0 : (r >= maxValue ? maxValue : (int) r);
            }
        });
        return out;
    }

    /** Deblur a float DP pair with the given levels (e.g. 0 and 1); returns the sharp frame in the same levels. */
    public float[] run(final float[] left, final float[] right, int height, int width, float[] black, float[] white) {
        checkPair(left.length, right.length, height, width);
        for (int i = 0; i < left.length; i++) {
            if (Float.isNaN(left[i]) || Float.isInfinite(left[i]) || Float.isNaN(right[i])
                    || Float.isInfinite(right[i])) {
                throw new IllegalArgumentException("the views contain NaN or Inf (sample " + i + ")");
            }
        }
        final float[] out = new float[height * width * C];
        drive(new Source() {
            @Override
            float value(boolean isLeft, int i) {
                return isLeft ? left[i] : right[i];
            }
        }, height, width, black, white, new Sink() {
            @Override
            void put(int i, float y, float b, float w) {
                out[i] = y * (w - b) + b;
            }
        });
        return out;
    }

    /** Samples of the two input views by HWC index. */
    private abstract static class Source {
        abstract float value(boolean isLeft, int i);
    }

    /** Where the blended [0, 1] result of HWC index i goes, with that channel's levels. */
    private abstract static class Sink {
        abstract void put(int i, float y, float black, float white);
    }

    private static void checkPair(int nl, int nr, int height, int width) {
        if (nl != nr) {
            throw new IllegalArgumentException("left has " + nl + " samples but right " + nr);
        }
        if (nl != height * width * C) {
            throw new IllegalArgumentException("views must be " + height + " x " + width + " x 3, got " + nl + " samples");
        }
        if (Math.min(height, width) < MIN_SIZE) {
            throw new IllegalArgumentException(
                    "frame is " + width + "x" + height + "; K3DN needs at least " + MIN_SIZE + "x" + MIN_SIZE + " pixels");
        }
    }

    /** Index numpy's one-sided reflect padding reads for position i of a padded axis of original length n. */
    static int reflect(int i, int n) {
        if (i < n) {
            return i;
        }
        if (n == 1) {
            return 0;
        }
        int p = 2 * (n - 1);
        int m = i % p;
        return m < n ? m : p - m;
    }

    private void drive(Source src, int h, int w, float[] black, float[] white, Sink sink) {
        if (black.length != C || white.length != C) {
            throw new IllegalArgumentException("need 3 black and 3 white levels, got " + black.length + " and "
                    + white.length);
        }
        for (int c = 0; c < C; c++) {
            if (!(white[c] > black[c])) {
                throw new IllegalArgumentException("white level " + white[c] + " must be above black level " + black[c]);
            }
        }
        int[] padded = paddedSize(h, w);
        List<Tile> tiles = tiles(h, w);
        List<Integer> bands = new ArrayList<Integer>();
        for (Tile t : tiles) {
            if (bands.isEmpty() || bands.get(bands.size() - 1) != t.y) {
                bands.add(t.y);
            }
        }
        float[] acc = new float[tileH * w * C];
        float[] wsum = new float[tileH * w];
        float[] inL = new float[C * tileH * tileW];
        float[] inR = new float[C * tileH * tileW];
        int k = 0;
        for (int b = 0; b < bands.size(); b++) {
            int y0 = bands.get(b);
            int rows = Math.min(tileH, h - y0); // the band's rows inside the frame
            for (; k < tiles.size() && tiles.get(k).y == y0; k++) {
                Tile t = tiles.get(k);
                int cols = Math.min(t.w, w - t.x); // the tile's columns inside the frame
                prepare(src, true, t, rows, cols, w, black, white, inL);
                prepare(src, false, t, rows, cols, w, black, white, inR);
                float[] sharp = runner.run(inL, inR);
                if (sharp == null || sharp.length != C * tileH * tileW) {
                    throw new IllegalStateException("runner returned " + (sharp == null ? "null" : sharp.length
                            + " values") + ", expected 3 x " + tileH + " x " + tileW);
                }
                float[] wt = Blend.tileWeight(t, padded[0], padded[1], overlap);
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < cols; j++) {
                        float wij = wt[i * t.w + j];
                        int a = (i * w + t.x + j) * C;
                        for (int c = 0; c < C; c++) {
                            acc[a + c] += sharp[(c * tileH + i) * tileW + j] * wij;
                        }
                        wsum[i * w + t.x + j] += wij;
                    }
                }
            }
            int done = Math.min(b + 1 < bands.size() ? bands.get(b + 1) : h, h) - y0;
            for (int i = 0; i < done; i++) {
                for (int j = 0; j < w; j++) {
                    float ws = wsum[i * w + j];
                    int a = (i * w + j) * C;
                    int o = ((y0 + i) * w + j) * C;
                    for (int c = 0; c < C; c++) {
                        float y = acc[a + c] / ws;
                        y = y < 0f ? 0f : (y > 1f ? 1f : y);
                        sink.put(o + c, y, black[c], white[c]);
                    }
                }
            }
            if (y0 + done >= h) {
                break;
            }
            // Rows the next band still blends into move to the top; the rest starts from zero.
            float[] nextAcc = new float[acc.length];
            float[] nextW = new float[wsum.length];
            System.arraycopy(acc, done * w * C, nextAcc, 0, (rows - done) * w * C);
            System.arraycopy(wsum, done * w, nextW, 0, (rows - done) * w);
            acc = nextAcc;
            wsum = nextW;
        }
    }

    /**
     * One tile of one view as planar CHW [0, 1] float at the runner's size. Only rows x cols of it lie in the
     * frame; the rest reflects that crop, as numpy.pad(mode="reflect") does in Python.
     */
    private void prepare(Source src, boolean isLeft, Tile t, int rows, int cols, int w, float[] black, float[] white,
                         float[] chw) {
        for (int c = 0; c < C; c++) {
            float b = black[c];
            float d = white[c] - black[c];
            for (int i = 0; i < tileH; i++) {
                int sy = t.y + reflect(i, rows);
                for (int j = 0; j < tileW; j++) {
                    int sx = t.x + reflect(j, cols);
                    float y = (src.value(isLeft, (sy * w + sx) * C + c) - b) / d;
                    chw[(c * tileH + i) * tileW + j] = y < 0f ? 0f : (y > 1f ? 1f : y);
                }
            }
        }
    }
}
