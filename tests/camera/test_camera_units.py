"""k3dn.camera building blocks: tile grid, blending weights, sensor levels, DP raw unpackers (round trips)."""

from __future__ import annotations

import numpy as np
import pytest

from k3dn.camera import levels, raw, tiling
from k3dn.errors import PipelineError


@pytest.mark.parametrize("size,tile,overlap", [(100, 512, 96), (512, 512, 96), (513, 512, 96), (4000, 512, 96),
                                               (3000, 1024, 128), (200, 64, 16)])
def test_tiles_cover_the_axis_with_at_least_the_overlap(size, tile, overlap) -> None:
    starts = tiling.tile_starts(size, tile, overlap)
    assert starts[0] == 0 and starts == sorted(set(starts))
    length = min(tile, size)
    assert starts[-1] + length == max(size, length), "the last tile is flush with the end"
    for a, b in zip(starts, starts[1:], strict=False):
        assert a + tile - b >= overlap, "neighbours share at least `overlap` pixels"


def test_tile_grid_is_row_major() -> None:
    grid = tiling.tile_grid(1000, 700, 512, 512, 64)
    assert [(t.y, t.x) for t in grid] == [(0, 0), (0, 188), (448, 0), (448, 188), (488, 0), (488, 188)]
    assert {(t.h, t.w) for t in grid} == {(512, 512)}


@pytest.mark.parametrize("height,width", [(3008, 4000), (4032, 3024), (1120, 1680), (600, 800), (48, 64)])
def test_fit_tile_computes_the_fewest_pixels(height, width) -> None:
    side = tiling.fit_tile(height, width, 96)
    assert side % 16 == 0 and side <= 1280

    def work(s: int) -> int:
        return len(tiling.tile_grid(height, width, s, s, 96)) * s * s

    assert all(work(side) <= work(s) for s in range(208, 1281, 16)), "no other stride multiple computes fewer"
    assert work(side) <= work(512)


def test_tile_auto_computes_a_12_mp_frame_at_most_1_15_times() -> None:
    """Issue 31's target: at the default overlap and `--tile auto`'s largest tile, 4000 x 3000 is computed <= 1.15x
    (it was 1.38x at 688-px tiles and 96 px of overlap, and 1.53x at the 512-px default)."""
    from k3dn.camera import DEFAULT_OVERLAP
    from k3dn.commands.deblur import resolve_tile

    side = resolve_tile("auto", None, None, (3000, 4000))
    factor = tiling.overlap_factor(3000, 4000, side, side, DEFAULT_OVERLAP, padded=(3008, 4000))
    assert side == 1056 and factor == pytest.approx(12 * 1056 ** 2 / 12e6) and factor <= 1.15
    assert tiling.overlap_factor(3000, 4000, 688, 688, 96, padded=(3008, 4000)) == pytest.approx(1.381, abs=1e-3)
    assert tiling.overlap_factor(3000, 4000, 512, 512, 96, padded=(3008, 4000)) == pytest.approx(1.529, abs=1e-3)
    assert tiling.overlap_factor(100, 100, 512, 512, 64, padded=(512, 512)) == pytest.approx(26.2144)


def test_fit_tile_for_a_12_mp_frame() -> None:
    side = tiling.fit_tile(3008, 4000, 96)  # 4000 x 3000 padded to the stride
    assert (side, len(tiling.tile_grid(3008, 4000, side, side, 96))) == (1072, 12)
    assert len(tiling.tile_grid(3008, 4000, 512, 512, 96)) == 70
    with pytest.raises(ValueError, match="overlap"):
        tiling.fit_tile(3008, 4000, 96, max_tile=192)


def test_blend_weights_partition_smoothly() -> None:
    ramp = tiling.blend_ramp(64, 16, True, True)
    assert ramp.dtype == np.float32 and np.all(ramp > 0) and ramp.max() == 1.0
    np.testing.assert_allclose(ramp[:16] + ramp[:16][::-1], 1.0, atol=1e-6)  # raised cosine: r(i) + r(o-1-i) = 1
    assert np.all(np.diff(ramp[:16]) > 0)
    assert np.all(tiling.blend_ramp(64, 16, False, False) == 1.0)
    with pytest.raises(ValueError, match="overlap"):
        tiling.tile_starts(100, 64, 64)


def test_levels_round_trip_every_uint16_code_with_black_and_white() -> None:
    codes = np.arange(512, 16384, dtype=np.uint16).reshape(-1, 1, 1).repeat(3, axis=2)
    unit = levels.to_unit(codes, black=512, white=16383)
    assert unit.dtype == np.float32 and unit.min() == 0.0 and unit.max() == 1.0
    np.testing.assert_array_equal(levels.from_unit(unit, np.uint16, black=512, white=16383), codes)
    codes8 = np.arange(256, dtype=np.uint8).reshape(-1, 1, 1).repeat(3, axis=2)
    np.testing.assert_array_equal(levels.from_unit(levels.to_unit(codes8), np.uint8), codes8)


def test_levels_per_channel_clip_and_error() -> None:
    x = np.array([[[100, 200, 300]]], dtype=np.uint16)
    y = levels.to_unit(x, black=[0, 100, 200], white=[200, 300, 250])
    np.testing.assert_allclose(y[0, 0], [0.5, 0.5, 1.0])  # 300 > white 250: clipped
    with pytest.raises(PipelineError, match="above the white level"):
        levels.to_unit(x, white=250, over_white="error")
    with pytest.raises(PipelineError, match="must be above black"):
        levels.to_unit(x, black=100, white=100)
    with pytest.raises(PipelineError, match="one per channel"):
        levels.to_unit(x, black=[1, 2])


def test_flat_field_gains_equalise_opposite_vignetting() -> None:
    xx = np.linspace(0, 1, 96, dtype=np.float32)[None, :, None].repeat(64, axis=0).repeat(3, axis=2)
    flat_l, flat_r = 0.6 - 0.3 * xx, 0.3 + 0.3 * xx  # left view falls off to the right, right view to the left
    gl, gr = levels.flat_field_gains(flat_l, flat_r)
    corrected_l, corrected_r = levels.apply_gain(flat_l, gl), levels.apply_gain(flat_r, gr)
    assert np.abs(flat_l - flat_r).max() > 0.25
    assert np.abs(corrected_l - corrected_r)[8:-8, 8:-8].max() < 0.01


def test_column_interleaved_round_trip() -> None:
    rng = np.random.default_rng(0)
    left, right = (rng.integers(0, 65535, (6, 5, 3), dtype=np.uint16) for _ in range(2))
    packed = raw.interleave_columns(left, right)
    assert packed.shape == (6, 10, 3) and np.array_equal(packed[:, 0], left[:, 0]) and np.array_equal(packed[:, 1],
                                                                                                      right[:, 0])
    for first in (True, False):
        got = raw.deinterleave_columns(raw.interleave_columns(left, right, first), first)
        assert np.array_equal(got[0], left) and np.array_equal(got[1], right)
    with pytest.raises(PipelineError, match="even width"):
        raw.deinterleave_columns(packed[:, :9])


def test_combined_round_trip_with_black_level() -> None:
    rng = np.random.default_rng(1)
    left, right = (rng.integers(512, 8000, (4, 7), dtype=np.uint16) for _ in range(2))
    combined, sub = raw.combine(left, right, black=512)
    got_l, got_r = raw.split_combined(combined, sub, black=512)
    assert np.array_equal(got_l, left) and np.array_equal(got_r, right) and got_r.dtype == np.uint16
    with pytest.raises(PipelineError, match="overflows"):
        raw.combine(np.full((2, 2), 60000, np.uint16), np.full((2, 2), 60000, np.uint16))


@pytest.mark.parametrize("pattern", raw.BAYER_PATTERNS)
def test_bayer_demosaic_is_exact_on_smooth_images(pattern) -> None:
    yy, xx = np.mgrid[0:24, 0:32].astype(np.float32)
    rgb = np.stack([0.01 * xx + 0.005 * yy, 0.3 + 0.004 * yy, 0.8 - 0.01 * xx], axis=-1)
    mosaic = raw.mosaic(rgb, pattern)
    assert mosaic.shape == (24, 32)
    np.testing.assert_allclose(raw.demosaic_bilinear(mosaic, pattern)[1:-1, 1:-1], rgb[1:-1, 1:-1], atol=1e-5)
    codes = np.round(raw.mosaic(rgb, pattern) * 4095).astype(np.uint16)
    linear = raw.bayer_to_rgb(codes, pattern, white=4095, encoding="linear")
    np.testing.assert_allclose(linear[1:-1, 1:-1], rgb[1:-1, 1:-1], atol=1e-3)
    srgb = raw.bayer_to_rgb(codes, pattern, white=4095)
    assert np.all(srgb >= linear - 1e-6), "the sRGB curve lifts every linear value in [0, 1]"
