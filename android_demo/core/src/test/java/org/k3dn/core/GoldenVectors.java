package org.k3dn.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Properties;

/**
 * The golden vectors {@code android_demo/make_golden.py} writes from {@code k3dn.camera}: {@code index.properties}
 * (case parameters, each array's dtype and shape) and little-endian {@code <name>.bin} arrays, read from the
 * test classpath under {@code golden/}.
 */
final class GoldenVectors {
    private static Properties index;

    private GoldenVectors() {
    }

    static synchronized Properties index() {
        if (index == null) {
            Properties p = new Properties();
            try (InputStream in = open("index.properties")) {
                p.load(in);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read golden/index.properties", e);
            }
            index = p;
        }
        return index;
    }

    static String prop(String key) {
        String v = index().getProperty(key);
        if (v == null) {
            throw new IllegalStateException("golden/index.properties has no " + key + "; rerun make_golden.py");
        }
        return v;
    }

    static int intProp(String key) {
        return Integer.parseInt(prop(key));
    }

    /** A comma-separated integer list (empty string: no values). */
    static int[] ints(String key) {
        String v = prop(key).trim();
        if (v.isEmpty()) {
            return new int[0];
        }
        String[] parts = v.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Integer.parseInt(parts[i].trim());
        }
        return out;
    }

    /** A level: one value or one per channel, expanded to 3 floats. */
    static float[] level3(String key) {
        int[] v = ints(key);
        return v.length == 1 ? Levels.perChannel(v[0], 3) : new float[] {v[0], v[1], v[2]};
    }

    static int[] shape(String name) {
        return ints(name + ".shape");
    }

    private static InputStream open(String file) {
        InputStream in = GoldenVectors.class.getResourceAsStream("/golden/" + file);
        if (in == null) {
            throw new IllegalStateException("golden/" + file + " is not on the test classpath");
        }
        return in;
    }

    private static ByteBuffer bytes(String name, String dtype) {
        String actual = prop(name + ".dtype");
        if (!actual.equals(dtype)) {
            throw new IllegalStateException(name + " is " + actual + ", not " + dtype);
        }
        try (InputStream in = open(name + ".bin")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                out.write(buf, 0, n);
            }
            return ByteBuffer.wrap(out.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read golden/" + name + ".bin", e);
        }
    }

    static float[] f32(String name) {
        ByteBuffer b = bytes(name, "f32");
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    static int[] i32(String name) {
        ByteBuffer b = bytes(name, "i32");
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }

    /** Unsigned 16-bit samples as 0..65535. */
    static int[] u16(String name) {
        ByteBuffer b = bytes(name, "u16");
        short[] s = new short[b.remaining() / 2];
        b.asShortBuffer().get(s);
        return Samples.fromShorts(s);
    }

    /** Unsigned 8-bit samples as 0..255. */
    static int[] u8(String name) {
        return Samples.fromBytes(bytes(name, "u8").array());
    }

    /** Integer samples of either width, with their maximum value in {@code max[0]}. */
    static int[] samples(String name, int[] max) {
        String dtype = prop(name + ".dtype");
        if (dtype.equals("u8")) {
            max[0] = 255;
            return u8(name);
        }
        max[0] = 65535;
        return u16(name);
    }
}
