package org.k3dn.core;

/**
 * Feathered blending weights, exactly as {@code k3dn.camera.tiling.blend_ramp} / {@code tile_weight}.
 *
 * <p>A raised-cosine ramp r[i] = 0.5 - 0.5 cos(pi (i + 0.5) / overlap), i < overlap (computed in double,
 * stored as float), at each tile edge that has a neighbour, 1 elsewhere. A tile's weight is the outer
 * product of its row and column ramps. The ramps never reach 0, so every pixel keeps some weight.
 */
public final class Blend {
    private Blend() {
    }

    /** 1-D weight of one tile axis of {@code length} pixels. */
    public static float[] ramp(int length, int overlap, boolean rampStart, boolean rampEnd) {
        float[] w = new float[length];
        java.util.Arrays.fill(w, 1.0f);
        if (overlap <= 0) {
            return w;
        }
        int n = Math.min(overlap, length);
        float[] r = new float[n];
        for (int i = 0; i < n; i++) {
            r[i] = (float) (0.5 - 0.5 * Math.cos(Math.PI * (i + 0.5) / n));
        }
        if (rampStart) {
            System.arraycopy(r, 0, w, 0, n);
        }
        if (rampEnd) {
            for (int i = 0; i < n; i++) {
                int j = length - n + i;
                w[j] = Math.min(w[j], r[n - 1 - i]);
            }
        }
        return w;
    }

    /** tile.h x tile.w row-major float weight of {@code tile} in a height x width frame. */
    public static float[] tileWeight(Tile tile, int height, int width, int overlap) {
        float[] wy = ramp(tile.h, overlap, tile.y > 0, tile.y + tile.h < height);
        float[] wx = ramp(tile.w, overlap, tile.x > 0, tile.x + tile.w < width);
        float[] out = new float[tile.h * tile.w];
        for (int i = 0; i < tile.h; i++) {
            for (int j = 0; j < tile.w; j++) {
                out[i * tile.w + j] = wy[i] * wx[j];
            }
        }
        return out;
    }
}
