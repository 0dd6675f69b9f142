package org.k3dn.demo;

import android.content.Context;
import android.content.res.AssetManager;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;

/**
 * The exported model bundled in assets/ ({@code k3dn export --backend executorch --size HxW --out
 * android_demo/app/src/main/assets}): the first {@code *.pte}, copied to the app's files dir (ExecuTorch
 * loads from a path), and its input size from the sidecar {@code <name>.pte.json} ("input_size": [H, W]),
 * else from the file name ({@code k3dn_tiny_512x512_fp32.pte}).
 */
final class ModelAssets {
    final File pte;
    final int tileH;
    final int tileW;

    private ModelAssets(File pte, int tileH, int tileW) {
        this.pte = pte;
        this.tileH = tileH;
        this.tileW = tileW;
    }

    static ModelAssets load(Context context) throws IOException {
        AssetManager assets = context.getAssets();
        String name = null;
        for (String f : assets.list("")) {
            if (f.endsWith(".pte")) {
                name = f;
                break;
            }
        }
        if (name == null) {
            throw new IOException("no .pte in assets/: run `k3dn export --backend executorch --size 512x512 "
                    + "--out android_demo/app/src/main/assets` and rebuild");
        }
        File out = new File(context.getFilesDir(), name);
        try (InputStream in = assets.open(name); OutputStream os = new FileOutputStream(out)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                os.write(buf, 0, n);
            }
        }
        int[] size = sidecarSize(assets, name + ".json");
        if (size == null) {
            Matcher m = Pattern.compile("_(\\d+)x(\\d+)_").matcher(name);
            if (!m.find()) {
                throw new IOException(name + ": no sidecar JSON and no HxW in the name; cannot tell its input size");
            }
            size = new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
        }
        return new ModelAssets(out, size[0], size[1]);
    }

    private static int[] sidecarSize(AssetManager assets, String json) {
        try (InputStream in = assets.open(json)) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) > 0;) {
                b.write(buf, 0, n);
            }
            JSONArray s = new JSONObject(b.toString("UTF-8")).getJSONArray("input_size");
            return new int[] {s.getInt(0), s.getInt(1)};
        } catch (IOException | JSONException e) {
            return null;
        }
    }
}
