package org.k3dn.core;

/** Unsigned 8/16-bit sample arrays (Java has no unsigned types) to and from {@code int[]}. */
public final class Samples {
    private Samples() {
    }

    /** Unsigned bytes to 0..255. */
    public static int[] fromBytes(byte[] b) {
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xff;
        }
        return out;
    }

    /** Unsigned shorts to 0..65535. */
    public static int[] fromShorts(short[] s) {
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i] & 0xffff;
        }
        return out;
    }

    /** 0..255 to bytes (low 8 bits kept). */
    public static byte[] toBytes(int[] v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (byte) v[i];
        }
        return out;
    }

    /** 0..65535 to shorts (low 16 bits kept). */
    public static short[] toShorts(int[] v) {
        short[] out = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (short) v[i];
        }
        return out;
    }
}
