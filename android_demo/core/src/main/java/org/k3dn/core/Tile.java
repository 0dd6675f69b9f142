package org.k3dn.core;

/** One tile of a grid: origin (y, x) and size (h, w) in frame pixels; mirrors {@code k3dn.camera.tiling.Tile}. */
public final class Tile {
    /** Row of the tile's top-left pixel. */
    public final int y;
    /** Column of the tile's top-left pixel. */
    public final int x;
    /** Height in pixels. */
    public final int h;
    /** Width in pixels. */
    public final int w;

    /** A tile at (y, x) of size h x w. */
    public Tile(int y, int x, int h, int w) {
        this.y = y;
        this.x = x;
        this.h = h;
        this.w = w;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Tile)) {
            return false;
        }
        Tile t = (Tile) o;
        return y == t.y && x == t.x && h == t.h && w == t.w;
    }

    @Override
    public int hashCode() {
        return ((y * 31 + x) * 31 + h) * 31 + w;
    }

    @Override
    public String toString() {
        return "Tile(y=" + y + ", x=" + x + ", h=" + h + ", w=" + w + ")";
    }
}
