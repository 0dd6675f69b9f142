package org.k3dn.core;

/**
 * Raw dual-pixel unpackers, as {@code k3dn.camera.raw}: a sensor readout to a (left, right) pair of views.
 *
 * <p>Arrays are row-major H x W x C; results are {@code {left, right}}.
 */
public final class DpRaw {
    private DpRaw() {
    }

    /**
     * Column-interleaved DP readout, H x 2W x C, to two H x W x C views: even columns and odd columns
     * (left first unless {@code leftFirst} is false).
     */
    public static int[][] deinterleaveColumns(int[] raw, int height, int width2, int channels, boolean leftFirst) {
        if (width2 % 2 != 0 || raw.length != height * width2 * channels) {
            throw new IllegalArgumentException("column-interleaved DP readout must be H x 2W x C with an even width, got "
                    + height + " x " + width2 + " x " + channels + " for " + raw.length + " samples");
        }
        int w = width2 / 2;
        int[] a = new int[height * w * channels];
        int[] b = new int[height * w * channels];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < channels; c++) {
                    int o = (y * w + x) * channels + c;
                    a[o] = raw[(y * width2 + 2 * x) * channels + c];
                    b[o] = raw[(y * width2 + 2 * x + 1) * channels + c];
                }
            }
        }
        return leftFirst ? new int[][] {a, b} : new int[][] {b, a};
    }

    /** Inverse of {@link #deinterleaveColumns}: two H x W x C views to an H x 2W x C readout. */
    public static int[] interleaveColumns(int[] left, int[] right, int height, int width, int channels,
                                          boolean leftFirst) {
        if (left.length != right.length || left.length != height * width * channels) {
            throw new IllegalArgumentException("left and right must both be " + height + " x " + width + " x " + channels);
        }
        int[] even = leftFirst ? left : right;
        int[] odd = leftFirst ? right : left;
        int[] out = new int[2 * left.length];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                for (int c = 0; c < channels; c++) {
                    int i = (y * width + x) * channels + c;
                    out[(y * 2 * width + 2 * x) * channels + c] = even[i];
                    out[(y * 2 * width + 2 * x + 1) * channels + c] = odd[i];
                }
            }
        }
        return out;
    }

    /**
     * Canon DPRAW (combined = A + B, sub = A) to (left = sub, right = combined - sub + black), clipped to
     * [0, maxValue] (noise can push the difference below 0). The left view is {@code sub} itself.
     */
    public static int[][] splitCombined(int[] combined, int[] sub, int black, int maxValue) {
        if (combined.length != sub.length) {
            throw new IllegalArgumentException("combined (" + combined.length + ") and sub (" + sub.length + ") differ");
        }
        int[] right = new int[combined.length];
        for (int i = 0; i < combined.length; i++) {
            long v = (long) combined[i] - (long) sub[i] + black;
            right[i] = (int) Math.max(0L, Math.min((long) maxValue, v));
        }
        return new int[][] {sub, right};
    }
}
