package org.k3dn.jvm;

import org.k3dn.core.TileRunner;

/**
 * A {@link TileRunner} over an exported {@code .pte} on desktop Java: JNI into ExecuTorch's C++ Module API
 * (libk3dn_executorch_jni.so, built by android_demo/run-tests.sh against the executorch wheel's native
 * libraries, XNNPACK backend included). The desktop stand-in for the app's {@code ExecuTorchRunner}.
 *
 * <p>The model takes forward(left, right), each 1 x 3 x H x W float32 in [0, 1], and returns the sharp image of
 * the same shape. Not thread-safe: one call at a time.
 */
public final class ExecuTorchJniRunner implements TileRunner, AutoCloseable {
    /** System property naming the JNI library's absolute path. */
    public static final String LIBRARY_PROPERTY = "k3dn.jni.library";

    private long handle;
    private final int tileH;
    private final int tileW;

    /**
     * Load the JNI library (from {@link #LIBRARY_PROPERTY}, else {@code k3dn_executorch_jni} on
     * java.library.path) and the model's forward method.
     *
     * @throws IllegalStateException if the model cannot be loaded or does not take two N x 3 x H x W inputs
     */
    public ExecuTorchJniRunner(String ptePath) {
        loadLibrary();
        handle = nativeOpen(ptePath);
        int[] shape = nativeInputShape(handle);
        if (shape.length != 4 || shape[0] != 1 || shape[1] != 3) {
            nativeClose(handle);
            handle = 0;
            throw new IllegalStateException(ptePath + ": input is " + java.util.Arrays.toString(shape)
                    + ", expected 1 x 3 x H x W");
        }
        tileH = shape[2];
        tileW = shape[3];
    }

    /** Load the JNI library once per process. */
    public static synchronized void loadLibrary() {
        String path = System.getProperty(LIBRARY_PROPERTY);
        if (path != null && !path.isEmpty()) {
            System.load(path);
        } else {
            System.loadLibrary("k3dn_executorch_jni");
        }
    }

    @Override
    public int tileHeight() {
        return tileH;
    }

    @Override
    public int tileWidth() {
        return tileW;
    }

    @Override
    public float[] run(float[] left, float[] right) {
        if (handle == 0) {
            throw new IllegalStateException("runner is closed");
        }
        return nativeRun(handle, left, right);
    }

    /** Release the model (idempotent). */
    @Override
    public void close() {
        if (handle != 0) {
            nativeClose(handle);
            handle = 0;
        }
    }

    private static native long nativeOpen(String path);

    private static native int[] nativeInputShape(long handle);

    private static native float[] nativeRun(long handle, float[] left, float[] right);

    private static native void nativeClose(long handle);
}
