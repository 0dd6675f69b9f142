package org.k3dn.demo;

import android.content.Context;
import android.graphics.Bitmap;
import android.graphics.Canvas;
import android.graphics.Color;
import android.graphics.Paint;
import android.graphics.Rect;
import android.graphics.RectF;
import android.view.MotionEvent;
import android.view.View;

/** Before/after comparison: "before" left of a draggable divider, "after" right of it, both fit to the view. */
final class BeforeAfterView extends View {
    private Bitmap before;
    private Bitmap after;
    private float split = 0.5f;
    private final Paint line = new Paint();
    private final Paint label = new Paint(Paint.ANTI_ALIAS_FLAG);

    BeforeAfterView(Context context) {
        super(context);
        line.setColor(Color.WHITE);
        line.setStrokeWidth(4f);
        label.setColor(Color.WHITE);
        label.setTextSize(36f);
        label.setShadowLayer(4f, 0f, 0f, Color.BLACK);
    }

    /** Show {@code before} (and {@code after}, null until the run finishes). */
    void setImages(Bitmap before, Bitmap after) {
        this.before = before;
        this.after = after;
        invalidate();
    }

    @Override
    public boolean onTouchEvent(MotionEvent e) {
        if (getWidth() > 0) {
            split = Math.max(0f, Math.min(1f, e.getX() / getWidth()));
            invalidate();
        }
        return true;
    }

    @Override
    protected void onDraw(Canvas canvas) {
        if (before == null) {
            return;
        }
        float scale = Math.min((float) getWidth() / before.getWidth(), (float) getHeight() / before.getHeight());
        float w = before.getWidth() * scale;
        float h = before.getHeight() * scale;
        RectF dst = new RectF((getWidth() - w) / 2, (getHeight() - h) / 2, (getWidth() + w) / 2, (getHeight() + h) / 2);
        canvas.drawBitmap(before, null, dst, null);
        if (after == null) {
            canvas.drawText("before", dst.left + 12, dst.top + 44, label);
            return;
        }
        float x = dst.left + split * w;
        canvas.save();
        canvas.clipRect(x, dst.top, dst.right, dst.bottom);
        canvas.drawBitmap(after, null, dst, null);
        canvas.restore();
        canvas.drawLine(x, dst.top, x, dst.bottom, line);
        canvas.drawText("before", dst.left + 12, dst.top + 44, label);
        Rect r = new Rect();
        label.getTextBounds("after", 0, 5, r);
        canvas.drawText("after", dst.right - r.width() - 12, dst.top + 44, label);
    }
}
