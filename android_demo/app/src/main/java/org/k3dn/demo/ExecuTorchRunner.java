package org.k3dn.demo;

import org.k3dn.core.TileRunner;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;

/**
 * {@link TileRunner} over an exported K3DN {@code .pte} with ExecuTorch's Android Module API (XNNPACK is in
 * the AAR). The model's contract: forward(left, right), each 1 x 3 x H x W float32 in [0, 1], returns the
 * sharp 1 x 3 x H x W. Keeps the time spent inside {@code forward} so the app can report model latency
 * apart from pre/post-processing. Not thread-safe: run it from one worker thread.
 */
public final class ExecuTorchRunner implements TileRunner, AutoCloseable {
    private final Module module;
    private final int tileH;
    private final int tileW;
    private final long[] shape;
    private long calls;
    private long forwardNanos;

    /**
     * What the app shows when ExecuTorch's runtime cannot load on this phone (a {@link LinkageError} from the first
     * use of {@link Module}): which piece is missing, instead of a crash.
     */
    public static String unavailableMessage(LinkageError e) {
        String what = e instanceof UnsatisfiedLinkError
                ? "its native library (libexecutorch.so, libfbjni.so) did not load for this phone's ABI"
                : "a class it needs is not in this APK (fbjni / SoLoader: see android_demo/README.md)";
        return "The ExecuTorch runtime cannot run on this phone: " + what + ". Build the app with Gradle "
                + "(org.pytorch:executorch-android brings both). Details: " + e;
    }

    /**
     * Load {@code ptePath} (a file on disk: Module mmaps it), which takes tileH x tileW inputs. Throws a
     * {@link LinkageError} when the runtime cannot load (see {@link #unavailableMessage}).
     */
    public ExecuTorchRunner(String ptePath, int tileH, int tileW) {
        this.module = Module.load(ptePath);
        this.tileH = tileH;
        this.tileW = tileW;
        this.shape = new long[] {1, 3, tileH, tileW};
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
        long t0 = System.nanoTime();
        EValue[] out = module.forward(EValue.from(Tensor.fromBlob(left, shape)),
                EValue.from(Tensor.fromBlob(right, shape)));
        float[] sharp = out[0].toTensor().getDataAsFloatArray();
        forwardNanos += System.nanoTime() - t0;
        calls++;
        return sharp;
    }

    /** Calls to forward since the last {@link #resetTiming()}. */
    public long calls() {
        return calls;
    }

    /** Milliseconds spent in forward since the last {@link #resetTiming()}. */
    public double forwardMillis() {
        return forwardNanos / 1e6;
    }

    /** Zero the call count and forward time. */
    public void resetTiming() {
        calls = 0;
        forwardNanos = 0;
    }

    @Override
    public void close() {
        module.destroy();
    }
}
