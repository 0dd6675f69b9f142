package org.k3dn.core;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Properties;

/**
 * The golden vectors {@code android_demo/make_golden.py} writes from {@code k3dn.camera}: {@code index.properties}
 * (case parameters, each array's dtype and shape) and little-endian {@code <name>.bin} arrays, read from the
 * test classpath under {@code golden/} (the static methods), or from a folder in the same format
 * ({@link #inDirectory}: the JVM test's reference vectors, written at test time).
 */
public final class GoldenVectors {
    private static GoldenVectors classpath;
    private final File dir; // null: the classpath's golden/
    private final Properties props = new Properties();

    private GoldenVectors(File dir) {
        this.dir = dir;
        try (InputStream in = openFile("index.properties")) {
            props.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + where("index.properties"), e);
        }
    }

    /** Vectors in {@code dir} (index.properties and .bin files). */
    public static GoldenVectors inDirectory(File dir) {
        return new GoldenVectors(dir);
    }

    private static synchronized GoldenVectors classpath() {
        if (classpath == null) {
            classpath = new GoldenVectors(null);
        }
        return classpath;
    }

    static Properties index() {
        return classpath().props;
    }

    private String where(String file) {
        return dir == null ? "golden/" + file + " on the test classpath" : new File(dir, file).getPath();
    }

    private InputStream openFile(String file) throws IOException {
        if (dir != null) {
            return new FileInputStream(new File(dir, file));
        }
        InputStream in = GoldenVectors.class.getResourceAsStream("/golden/" + file);
        if (in == null) {
            throw new IllegalStateException("golden/" + file + " is not on the test classpath");
        }
        return in;
    }

    /** A parameter of this set (throws if absent). */
    public String get(String key) {
        String v = props.getProperty(key);
        if (v == null) {
            throw new IllegalStateException(where("index.properties") + " has no " + key);
        }
        return v;
    }

    /** A comma-separated integer list of this set. */
    public int[] getInts(String key) {
        return parseInts(get(key));
    }

    /** A float32 array of this set. */
    public float[] getF32(String name) {
        ByteBuffer b = read(name, "f32");
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    /** Unsigned 8- or 16-bit samples of this set as ints, with their maximum value in {@code max[0]}. */
    public int[] getSamples(String name, int[] max) {
        String dtype = get(name + ".dtype");
        ByteBuffer b = read(name, dtype);
        if (dtype.equals("u8")) {
            max[0] = 255;
            return Samples.fromBytes(b.array());
        }
        if (!dtype.equals("u16")) {
            throw new IllegalStateException(name + " is " + dtype + ", not integer samples");
        }
        max[0] = 65535;
        short[] s = new short[b.remaining() / 2];
        b.asShortBuffer().get(s);
        return Samples.fromShorts(s);
    }

    private ByteBuffer read(String name, String dtype) {
        String actual = get(name + ".dtype");
        if (!actual.equals(dtype)) {
            throw new IllegalStateException(name + " is " + actual + ", not " + dtype);
        }
        try (InputStream in = openFile(name + ".bin")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                out.write(buf, 0, n);
            }
            return ByteBuffer.wrap(out.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + where(name + ".bin"), e);
        }
    }

    private static int[] parseInts(String value) {
        String v = value.trim();
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

    static String prop(String key) {
        return classpath().get(key);
    }

    static int intProp(String key) {
        return Integer.parseInt(prop(key));
    }

    /** A comma-separated integer list (empty string: no values). */
    static int[] ints(String key) {
        return classpath().getInts(key);
    }

    /** A level: one value or one per channel, expanded to 3 floats. */
    static float[] level3(String key) {
        int[] v = ints(key);
        return v.length == 1 ? Levels.perChannel(v[0], 3) : new float[] {v[0], v[1], v[2]};
    }

    static int[] shape(String name) {
        return ints(name + ".shape");
    }

    static float[] f32(String name) {
        return classpath().getF32(name);
    }

    static int[] i32(String name) {
        ByteBuffer b = classpath().read(name, "i32");
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }

    /** Unsigned 16-bit samples as 0..65535. */
    static int[] u16(String name) {
        int[] max = new int[1];
        int[] v = samples(name, max);
        if (max[0] != 65535) {
            throw new IllegalStateException(name + " is not u16");
        }
        return v;
    }

    /** Unsigned 8-bit samples as 0..255. */
    static int[] u8(String name) {
        int[] max = new int[1];
        int[] v = samples(name, max);
        if (max[0] != 255) {
            throw new IllegalStateException(name + " is not u8");
        }
        return v;
    }

    /** Integer samples of either width, with their maximum value in {@code max[0]}. */
    static int[] samples(String name, int[] max) {
        return classpath().getSamples(name, max);
    }
}
