package org.k3dn.demo;

import android.graphics.Bitmap;

/** Bitmaps to and from the core's H x W x 3 8-bit sample arrays. */
final class Frames {
    private Frames() {
    }

    /** RGB samples (0..255, row-major H x W x 3) of an ARGB bitmap; alpha is ignored. */
    static int[] rgb(Bitmap b) {
        int w = b.getWidth();
        int h = b.getHeight();
        int[] argb = new int[w * h];
        b.getPixels(argb, 0, w, 0, 0, w, h);
        int[] out = new int[w * h * 3];
        for (int i = 0; i < argb.length; i++) {
            out[3 * i] = (argb[i] >> 16) & 0xff;
            out[3 * i + 1] = (argb[i] >> 8) & 0xff;
            out[3 * i + 2] = argb[i] & 0xff;
        }
        return out;
    }

    /** An opaque ARGB_8888 bitmap of H x W x 3 samples. */
    static Bitmap bitmap(int[] rgb, int h, int w) {
        int[] argb = new int[w * h];
        for (int i = 0; i < argb.length; i++) {
            argb[i] = 0xff000000 | (rgb[3 * i] << 16) | (rgb[3 * i + 1] << 8) | rgb[3 * i + 2];
        }
        return Bitmap.createBitmap(argb, w, h, Bitmap.Config.ARGB_8888);
    }

    /** The mean of the two DP views: what a conventional sensor records, the "before" image. */
    static int[] mean(int[] left, int[] right) {
        int[] out = new int[left.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (left[i] + right[i] + 1) / 2;
        }
        return out;
    }
}
