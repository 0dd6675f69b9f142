package org.k3dn.core;

/**
 * Sensor levels: integer samples to the model's float [0, 1] and back, as {@code k3dn.camera.levels}.
 *
 * <p>{@code toUnit}: y = clip((float(v) - black) / (white - black), 0, 1) in float arithmetic, per channel.
 * {@code fromUnit}: v = floor(y (white - black) + black + 0.5) clipped to [0, maxValue]. Images are
 * row-major H x W x C ("HWC") arrays; unsigned 8- or 16-bit samples are held in {@code int[]}
 * (see {@link Samples}).
 */
public final class Levels {
    private Levels() {
    }

    /** 255 for 8-bit, 65535 for 16-bit samples. */
    public static float defaultWhite(int bits) {
        if (bits != 8 && bits != 16) {
            throw new IllegalArgumentException("bits must be 8 or 16, got " + bits);
        }
        return (float) ((1 << bits) - 1);
    }

    /** One level repeated for each of {@code channels} channels. */
    public static float[] perChannel(float level, int channels) {
        float[] out = new float[channels];
        java.util.Arrays.fill(out, level);
        return out;
    }

    private static void check(float[] black, float[] white, int channels) {
        if (black.length != channels || white.length != channels) {
            throw new IllegalArgumentException("need one black and one white level per channel (" + channels + ")");
        }
        for (int c = 0; c < channels; c++) {
            if (!(white[c] > black[c])) {
                throw new IllegalArgumentException(
                        "white level " + white[c] + " must be above black level " + black[c] + " (channel " + c + ")");
            }
        }
    }

    /** HWC samples to float [0, 1] (Python {@code to_unit}). */
    public static float[] toUnit(int[] samples, int channels, float[] black, float[] white) {
        check(black, white, channels);
        float[] out = new float[samples.length];
        for (int i = 0; i < samples.length; i++) {
            int c = i % channels;
            float y = ((float) samples[i] - black[c]) / (white[c] - black[c]);
            out[i] = y < 0f ? 0f : (y > 1f ? 1f : y);
        }
        return out;
    }

    /** Float HWC to samples in [0, maxValue] with round-half-up (Python {@code from_unit}). */
    public static int[] fromUnit(float[] y, int channels, float[] black, float[] white, int maxValue) {
        check(black, white, channels);
        int[] out = new int[y.length];
        for (int i = 0; i < y.length; i++) {
            int c = i % channels;
            float v = y[i] * (white[c] - black[c]) + black[c];
            double r = Math.floor(v + 0.5f);
            out[i] = r <= 0 ? 0 : (r >= maxValue ? maxValue : (int) r);
        }
        return out;
    }
}
