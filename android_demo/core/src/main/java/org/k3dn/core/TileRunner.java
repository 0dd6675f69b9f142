package org.k3dn.core;

/**
 * One fixed-size model call: the exported network's contract, as in {@code k3dn.camera.runners.Runner}.
 *
 * <p>Inputs and output are planar CHW float arrays of one tile, 3 x tileHeight() x tileWidth(), values in
 * [0, 1]: the left and right DP views in, the sharp image out. Implementations: the JNI ExecuTorch runner
 * (desktop tests), {@code ExecuTorchRunner} (Android), fakes in the tests.
 */
public interface TileRunner {
    /** Height of the fixed input the model takes. */
    int tileHeight();

    /** Width of the fixed input the model takes. */
    int tileWidth();

    /**
     * Run the model on one tile.
     *
     * @param left  3 x tileHeight() x tileWidth() planar float, [0, 1]
     * @param right same shape as {@code left}
     * @return the sharp tile, same shape
     */
    float[] run(float[] left, float[] right);
}
