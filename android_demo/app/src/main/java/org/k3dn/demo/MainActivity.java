package org.k3dn.demo;

import android.app.Activity;
import android.content.Intent;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.net.Uri;
import android.os.Bundle;
import android.view.View;
import android.widget.Button;
import android.widget.LinearLayout;
import android.widget.TextView;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.k3dn.core.Deblurrer;
import org.k3dn.core.Levels;

/**
 * The demo: load a DP pair (the bundled sample, or a left and a right image picked with the system picker),
 * deblur it with the bundled .pte through the core {@link Deblurrer}, show before/after with a slider and the
 * latency per frame, per megapixel and per tile. All work runs on one worker thread; the UI thread only draws.
 */
public final class MainActivity extends Activity {
    private static final int PICK_LEFT = 1;
    private static final int PICK_RIGHT = 2;

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private BeforeAfterView view;
    private TextView status;
    private Button runButton;
    private ExecuTorchRunner runner; // worker thread only
    private Bitmap left;
    private Bitmap right;
    private int runs;

    @Override
    protected void onCreate(Bundle state) {
        super.onCreate(state);
        LinearLayout root = new LinearLayout(this);
        root.setOrientation(LinearLayout.VERTICAL);
        LinearLayout buttons = new LinearLayout(this);
        Button sample = new Button(this);
        sample.setText("Sample pair");
        sample.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                loadSample();
            }
        });
        Button pick = new Button(this);
        pick.setText("Pick left + right");
        pick.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                pick(PICK_LEFT);
            }
        });
        runButton = new Button(this);
        runButton.setText("Run");
        runButton.setEnabled(false);
        runButton.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                run();
            }
        });
        buttons.addView(sample);
        buttons.addView(pick);
        buttons.addView(runButton);
        status = new TextView(this);
        status.setPadding(16, 8, 16, 8);
        view = new BeforeAfterView(this);
        root.addView(buttons);
        root.addView(status);
        root.addView(view, new LinearLayout.LayoutParams(LinearLayout.LayoutParams.MATCH_PARENT, 0, 1f));
        setContentView(root);
        status.setText("Load a DP pair, then Run. Drag on the image to move the divider.");
    }

    @Override
    protected void onDestroy() {
        worker.execute(new Runnable() {
            @Override
            public void run() {
                if (runner != null) {
                    runner.close();
                }
            }
        });
        worker.shutdown();
        super.onDestroy();
    }

    private void loadSample() {
        try (InputStream l = getAssets().open("sample_left.png"); InputStream r = getAssets().open("sample_right.png")) {
            setPair(BitmapFactory.decodeStream(l), BitmapFactory.decodeStream(r), "sample (Google Pixel DP crop)");
        } catch (IOException e) {
            status.setText("no bundled sample: " + e.getMessage());
        }
    }

    private void pick(int which) {
        Intent i = new Intent(Intent.ACTION_OPEN_DOCUMENT);
        i.addCategory(Intent.CATEGORY_OPENABLE);
        i.setType("image/*");
        status.setText(which == PICK_LEFT ? "Pick the LEFT DP view" : "Pick the RIGHT DP view");
        startActivityForResult(i, which);
    }

    @Override
    protected void onActivityResult(int request, int result, Intent data) {
        if (result != RESULT_OK || data == null || data.getData() == null) {
            return;
        }
        Bitmap b = decode(data.getData());
        if (b == null) {
            status.setText("cannot decode " + data.getData());
        } else if (request == PICK_LEFT) {
            left = b;
            pick(PICK_RIGHT);
        } else if (request == PICK_RIGHT) {
            setPair(left, b, "picked pair");
        }
    }

    private Bitmap decode(Uri uri) {
        try (InputStream in = getContentResolver().openInputStream(uri)) {
            return BitmapFactory.decodeStream(in);
        } catch (IOException e) {
            return null;
        }
    }

    private void setPair(Bitmap l, Bitmap r, String what) {
        if (l == null || r == null || l.getWidth() != r.getWidth() || l.getHeight() != r.getHeight()) {
            status.setText("the two views must be images of the same size");
            return;
        }
        left = l;
        right = r;
        int h = l.getHeight();
        int w = l.getWidth();
        view.setImages(Frames.bitmap(Frames.mean(Frames.rgb(l), Frames.rgb(r)), h, w), null);
        status.setText(String.format(Locale.US, "%s: %dx%d. Run deblurs it.", what, w, h));
        runButton.setEnabled(true);
    }

    private void run() {
        final Bitmap l = left;
        final Bitmap r = right;
        runButton.setEnabled(false);
        status.setText("running ...");
        worker.execute(new Runnable() {
            @Override
            public void run() {
                deblur(l, r);
            }
        });
    }

    /** Worker thread: load the runtime and model once, deblur the pair, post the result to the UI. */
    private void deblur(final Bitmap l, final Bitmap r) {
        String msg;
        Bitmap out = null;
        try {
            if (runner == null) {
                ModelAssets m = ModelAssets.load(this);
                runner = new ExecuTorchRunner(m.pte.getPath(), m.tileH, m.tileW);
            }
            int h = l.getHeight();
            int w = l.getWidth();
            int[] lv = Frames.rgb(l);
            int[] rv = Frames.rgb(r);
            Deblurrer d = new Deblurrer(runner, Math.min(Deblurrer.DEFAULT_OVERLAP,
                    (Math.min(runner.tileHeight(), runner.tileWidth()) / 2 - 1) / Deblurrer.STRIDE * Deblurrer.STRIDE));
            runner.resetTiming();
            long t0 = System.nanoTime();
            int[] sharp = d.run(lv, rv, h, w, Levels.perChannel(0, 3), Levels.perChannel(255, 3), 255);
            double ms = (System.nanoTime() - t0) / 1e6;
            out = Frames.bitmap(sharp, h, w);
            double mp = h * (double) w / 1e6;
            runs++;
            msg = String.format(Locale.US, "run %d%s: %dx%d, %d tiles of %dx%d: %.0f ms/frame, %.0f ms/MP "
                            + "(model %.0f ms, %.1f ms/tile)", runs, runs == 1 ? " (cold: includes XNNPACK setup)" : "",
                    w, h, runner.calls(), runner.tileWidth(), runner.tileHeight(), ms, ms / mp,
                    runner.forwardMillis(), runner.forwardMillis() / Math.max(1, runner.calls()));
        } catch (LinkageError e) {
            // The ExecuTorch runtime did not load: a native library missing for this phone's ABI
            // (UnsatisfiedLinkError), or its Java dependencies (fbjni, SoLoader) not packaged (NoClassDefFoundError).
            runner = null;
            msg = ExecuTorchRunner.unavailableMessage(e);
        } catch (Exception | OutOfMemoryError e) {
            msg = "failed: " + e;
        }
        final String text = msg;
        final Bitmap after = out;
        runOnUiThread(new Runnable() {
            @Override
            public void run() {
                status.setText(text);
                if (after != null) {
                    view.setImages(Frames.bitmap(Frames.mean(Frames.rgb(l), Frames.rgb(r)), l.getHeight(),
                            l.getWidth()), after);
                }
                runButton.setEnabled(true);
            }
        });
    }
}
