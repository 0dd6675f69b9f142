package org.k3dn.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** DP raw unpacking against k3dn.camera.raw. */
class DpRawGoldenTest {
    @Test
    void deinterleaveColumnsMatchesPythonBothOrders() {
        int[] s = GoldenVectors.shape("raw_interleaved");
        int[] raw = GoldenVectors.u16("raw_interleaved");
        for (String order : new String[] {"lf", "rf"}) {
            int[][] lr = DpRaw.deinterleaveColumns(raw, s[0], s[1], s[2], order.equals("lf"));
            assertArrayEquals(GoldenVectors.u16("raw_left_" + order), lr[0], "left " + order);
            assertArrayEquals(GoldenVectors.u16("raw_right_" + order), lr[1], "right " + order);
            assertArrayEquals(raw, DpRaw.interleaveColumns(lr[0], lr[1], s[0], s[1] / 2, s[2], order.equals("lf")),
                    "interleave inverts deinterleave " + order);
        }
    }

    @Test
    void splitCombinedMatchesPythonWithClipping() {
        int[] combined = GoldenVectors.u16("combined");
        int[] sub = GoldenVectors.u16("combined_sub");
        int[][] lr = DpRaw.splitCombined(combined, sub, GoldenVectors.intProp("combined.black"), 65535);
        assertSame(sub, lr[0]);
        assertArrayEquals(GoldenVectors.u16("combined_right"), lr[1]);
    }

    @Test
    void rejectsOddWidth() {
        assertThrows(IllegalArgumentException.class, () -> DpRaw.deinterleaveColumns(new int[2 * 3], 2, 3, 1, true));
    }
}
