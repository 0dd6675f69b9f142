package org.k3dn.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Black/white levels against k3dn.camera.levels (bit-identical floats, identical integers). */
class LevelsGoldenTest {
    @Test
    void toUnit8BitPerChannelLevels() {
        float[] got = Levels.toUnit(GoldenVectors.u8("levels_u8_in"), 3, GoldenVectors.level3("levels_u8.black"),
                GoldenVectors.level3("levels_u8.white"));
        assertArrayEquals(GoldenVectors.f32("levels_u8_unit"), got, 0f);
    }

    @Test
    void toUnit16Bit() {
        float[] got = Levels.toUnit(GoldenVectors.u16("levels_u16_in"), 3, GoldenVectors.level3("levels_u16.black"),
                GoldenVectors.level3("levels_u16.white"));
        assertArrayEquals(GoldenVectors.f32("levels_u16_unit"), got, 0f);
    }

    @Test
    void fromUnitRoundsHalfUpAndClips() {
        float[] y = GoldenVectors.f32("from_unit_y");
        assertArrayEquals(GoldenVectors.u8("from_unit_u8"), Levels.fromUnit(y, 3,
                GoldenVectors.level3("levels_u8.black"), GoldenVectors.level3("levels_u8.white"), 255));
        assertArrayEquals(GoldenVectors.u16("from_unit_u16"), Levels.fromUnit(y, 3,
                GoldenVectors.level3("levels_u16.black"), GoldenVectors.level3("levels_u16.white"), 65535));
    }

    @Test
    void roundTripIsExactFor8And16Bit() {
        for (int bits : new int[] {8, 16}) {
            int max = (1 << bits) - 1;
            int[] v = new int[max + 1];
            for (int i = 0; i <= max; i++) {
                v[i] = i;
            }
            float[] b = Levels.perChannel(0, 1);
            float[] w = Levels.perChannel(Levels.defaultWhite(bits), 1);
            assertArrayEquals(v, Levels.fromUnit(Levels.toUnit(v, 1, b, w), 1, b, w, max), bits + "-bit");
        }
    }

    @Test
    void rejectsWhiteAtOrBelowBlack() {
        assertThrows(IllegalArgumentException.class,
                () -> Levels.toUnit(new int[3], 3, Levels.perChannel(10, 3), Levels.perChannel(10, 3)));
        assertThrows(IllegalArgumentException.class,
                () -> Levels.toUnit(new int[3], 3, Levels.perChannel(0, 2), Levels.perChannel(10, 3)));
        assertEquals(65535f, Levels.defaultWhite(16), 0f);
    }
}
