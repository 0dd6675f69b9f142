package org.k3dn.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.k3dn.core.Deblurrer;
import org.k3dn.core.GoldenVectors;
import org.k3dn.core.Levels;

/**
 * The Java core driving a real exported .pte through ExecuTorch's C++ runtime (JNI), against the Python
 * pipeline ({@code k3dn.camera.Deblurrer} over the same artifact with the Python ExecuTorch runtime), on crops
 * of the bundled real DP pair. Reference vectors come from android_demo/jvm/make_reference.py, run by
 * run-tests.sh.
 *
 * <p>Parity budget: float outputs within {@value #FLOAT_BUDGET} (max |diff|, the export parity budget of
 * {@code k3dn export}); uint8 frames within 1 LSB everywhere and bit-identical on at least
 * {@value #MIN_IDENTICAL} of the samples (the float difference can flip a rounding, nothing more). Both
 * runtimes run XNNPACK, but not necessarily the same ExecuTorch release (the Python wheel the project pins vs.
 * the wheel whose C++ libraries run-tests.sh links), so bit-identity is not required.
 *
 * <p>Skipped, with the reason printed, only when run-tests.sh could not get the native library (it sets
 * {@code k3dn.jvm.skip} to the reason), or when the system properties {@code k3dn.jni.library},
 * {@code k3dn.jvm.pte} and {@code k3dn.jvm.reference} are unset (the test run outside run-tests.sh).
 */
class ExecuTorchParityTest {
    static final double FLOAT_BUDGET = 1e-4;
    static final double MIN_IDENTICAL = 0.999;

    private static ExecuTorchJniRunner runner;
    private static GoldenVectors ref;

    @BeforeAll
    static void open() {
        String lib = System.getProperty(ExecuTorchJniRunner.LIBRARY_PROPERTY, "");
        String dir = System.getProperty("k3dn.jvm.reference", "");
        String pte = System.getProperty("k3dn.jvm.pte", "");
        String skip = System.getProperty("k3dn.jvm.skip", "");
        assumeTrue(skip.isEmpty(), "SKIPPED: " + skip);
        assumeTrue(!lib.isEmpty() && new File(lib).isFile(),
                "SKIPPED: no ExecuTorch JNI library (-Dk3dn.jni.library=" + lib + "); run android_demo/run-tests.sh");
        assumeTrue(!dir.isEmpty() && new File(dir, "index.properties").isFile(),
                "SKIPPED: no reference vectors (-Dk3dn.jvm.reference=" + dir + "); run android_demo/run-tests.sh");
        assumeTrue(!pte.isEmpty() && new File(pte).isFile(),
                "SKIPPED: no exported .pte (-Dk3dn.jvm.pte=" + pte + "); run android_demo/run-tests.sh");
        ref = GoldenVectors.inDirectory(new File(dir));
        assertEquals(ref.get("pte"), new File(pte).getName(), "reference vectors were made from another artifact");
        runner = new ExecuTorchJniRunner(pte);
    }

    @AfterAll
    static void close() {
        if (runner != null) {
            runner.close();
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length, "length");
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    @Test
    void tileShapeIsTheExportedSize() {
        int[] t = ref.getInts("tile");
        assertEquals(t[0], runner.tileHeight());
        assertEquals(t[1], runner.tileWidth());
    }

    @Test
    void oneTileMatchesPythonRuntime() {
        float[] out = runner.run(ref.getF32("tile_left"), ref.getF32("tile_right"));
        double d = maxAbsDiff(ref.getF32("tile_out"), out);
        System.out.printf("[parity] one %dx%d tile: max|diff| vs Python ExecuTorch = %.3g (budget %.0e)%n",
                runner.tileHeight(), runner.tileWidth(), d, FLOAT_BUDGET);
        assertTrue(d <= FLOAT_BUDGET, "max|diff| " + d);
    }

    @Test
    void uint8FrameMatchesPythonPipeline() {
        int[] hw = ref.getInts("frame_u8.args");
        int[] max = new int[1];
        int[] left = ref.getSamples("frame_u8_left", max);
        int[] right = ref.getSamples("frame_u8_right", max);
        int[] want = ref.getSamples("frame_u8_out", max);
        Deblurrer d = new Deblurrer(runner, Integer.parseInt(ref.get("overlap")));
        assertEquals(Integer.parseInt(ref.get("frame_u8.tiles")), d.tiles(hw[0], hw[1]).size(), "tile count");
        long t0 = System.nanoTime();
        int[] out = d.run(left, right, hw[0], hw[1], Levels.perChannel(0, 3), Levels.perChannel(255, 3), 255);
        double ms = (System.nanoTime() - t0) / 1e6;
        int worst = 0;
        int same = 0;
        for (int i = 0; i < out.length; i++) {
            int e = Math.abs(out[i] - want[i]);
            worst = Math.max(worst, e);
            same += e == 0 ? 1 : 0;
        }
        double frac = (double) same / out.length;
        System.out.printf("[parity] %dx%d uint8 frame, %d tiles: max|diff| = %d LSB, %.4f%% identical; "
                        + "JVM %.0f ms (%.0f ms/MP)%n", hw[1], hw[0], d.tiles(hw[0], hw[1]).size(), worst, 100 * frac,
                ms, ms / (hw[0] * hw[1] / 1e6));
        assertTrue(worst <= 1, "max|diff| " + worst + " LSB");
        assertTrue(frac >= MIN_IDENTICAL, "only " + frac + " identical");
    }

    @Test
    void float32FrameShorterThanATileMatchesPythonPipeline() {
        int[] hw = ref.getInts("frame_f32.args");
        Deblurrer d = new Deblurrer(runner, Integer.parseInt(ref.get("overlap")));
        float[] out = d.run(ref.getF32("frame_f32_left"), ref.getF32("frame_f32_right"), hw[0], hw[1],
                Levels.perChannel(0f, 3), Levels.perChannel(1f, 3));
        double diff = maxAbsDiff(ref.getF32("frame_f32_out"), out);
        System.out.printf("[parity] %dx%d float32 frame (padded to the tile): max|diff| = %.3g (budget %.0e)%n",
                hw[1], hw[0], diff, FLOAT_BUDGET);
        assertTrue(diff <= FLOAT_BUDGET, "max|diff| " + diff);
    }
}
