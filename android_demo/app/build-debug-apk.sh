#!/usr/bin/env bash
# Packaging check of the demo app without Gradle or the Android SDK, with what Debian ships:
#   1. compiles ExecuTorchRunner (+ core) against the real ExecuTorch Android Java API (org.pytorch.executorch
#      classes from the npm package react-native-executorch, cached) - an API check of the app's one runtime call;
#   2. packages the manifest and assets (sample pair, and the .pte given as $1) with aapt against Debian's
#      framework-res.apk, zipaligns, signs with a generated debug key, and runs `apksigner verify` and
#      `aapt dump badging`.
# With an android.jar and a dexer (d8, dx or dalvik-exchange) on this machine it also compiles the whole app and
# puts classes.dex in the APK. Debian 12 ships neither (android-sdk-platform-23 / libandroid-23-java /
# dalvik-exchange are gone), so here the APK has no code: it checks the packaging, it is not an installable
# app. The installable APK comes from Gradle on a developer machine (README).
#
# Usage: android_demo/app/build-debug-apk.sh [MODEL.pte]     -> android_demo/build/apk/k3dn-demo-debug.apk
# Exit: 0 checked (or skipped, with the reason printed), non-zero on a failed check.
set -euo pipefail
APP="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEMO="$(dirname "$APP")"
ROOT="$(dirname "$DEMO")"
CACHE="$DEMO/.cache"
OUT="$DEMO/build/apk"
PTE="${1:-}"
RNE_VERSION=0.8.5 # npm package that bundles org.pytorch.executorch's Java classes (without fbjni's)
log() { echo "[apk] $*"; }
skip() { log "SKIPPED: $*"; exit 0; }

need=()
for tool in aapt zipalign apksigner; do command -v "$tool" >/dev/null || need+=("$tool"); done
FRAMEWORK=/usr/share/android-framework-res/framework-res.apk
[[ -f "$FRAMEWORK" ]] || need+=(android-framework-res)
if ((${#need[@]})); then
  log "installing ${need[*]} (apt-get)"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
         --no-install-recommends "${need[@]}" >/dev/null; }; then
    skip "Debian's ${need[*]} do not install here"
  fi
fi
rm -rf "$OUT"
mkdir -p "$OUT"/{classes,assets,ks} "$CACHE"

# --- 1. ExecuTorchRunner against the real org.pytorch.executorch API ------------------------------------------
ET_JAR="$CACHE/rne-$RNE_VERSION/classes.jar"
if [[ ! -f "$ET_JAR" ]] && command -v npm >/dev/null; then
  log "fetching react-native-executorch@$RNE_VERSION (npm pack, cached) for the ExecuTorch Java classes"
  tmp="$(mktemp -d)"
  if (cd "$tmp" && npm pack --silent "react-native-executorch@$RNE_VERSION" >/dev/null 2>&1); then
    tar xzf "$tmp"/react-native-executorch-*.tgz -C "$tmp" package/android/libs/classes.jar
    mkdir -p "$(dirname "$ET_JAR")" && mv "$tmp/package/android/libs/classes.jar" "$ET_JAR"
  fi
  rm -rf "$tmp"
fi
mkdir -p "$OUT/classes/core"
javac --release 8 -Xlint:all,-options -d "$OUT/classes/core" $(find "$DEMO/core/src/main/java" -name '*.java')
if [[ -f "$ET_JAR" ]]; then
  # ExecuTorchRunner imports nothing from android.*, so it compiles without android.jar.
  javac --release 8 -Xlint:all,-options,-classfile -d "$OUT/classes/app" -cp "$OUT/classes/core:$ET_JAR" \
    "$APP/src/main/java/org/k3dn/demo/ExecuTorchRunner.java"
  log "ok: ExecuTorchRunner compiles against org.pytorch.executorch (react-native-executorch $RNE_VERSION's classes)"
else
  log "ExecuTorch Java API check SKIPPED: npm could not fetch react-native-executorch@$RNE_VERSION"
fi

# --- 2. Whole app + dex, only where an android.jar and a dexer exist -------------------------------------------
ANDROID_JAR="$(ls -1 "${ANDROID_HOME:-/nonexistent}"/platforms/android-*/android.jar /usr/lib/android-sdk/platforms/*/android.jar \
  2>/dev/null | sort -V | tail -1 || true)"
DEXER="$(command -v d8 || command -v dx || command -v dalvik-exchange || true)"
DEX=""
if [[ -n "$ANDROID_JAR" && -n "$DEXER" && -f "$ET_JAR" ]]; then
  javac --release 8 -d "$OUT/classes/app" -cp "$OUT/classes/core:$ET_JAR:$ANDROID_JAR" \
    $(find "$APP/src/main/java" -name '*.java')
  mkdir -p "$OUT/dex"
  if [[ "$(basename "$DEXER")" == d8 ]]; then
    "$DEXER" --min-api 26 --lib "$ANDROID_JAR" --output "$OUT/dex" $(find "$OUT/classes/app" "$OUT/classes/core" -name '*.class')
  else
    "$DEXER" --dex --min-sdk-version=26 --output="$OUT/dex/classes.dex" "$OUT/classes/app" "$OUT/classes/core"
  fi
  DEX="$OUT/dex/classes.dex"
  log "compiled and dexed the app with $ANDROID_JAR and $DEXER"
else
  log "no android.jar (${ANDROID_JAR:-none}) or dexer (${DEXER:-none}) here (Debian 12 packages neither):" \
      "the APK below has no classes.dex - a packaging check, NOT an installable app"
fi

# --- 3. Package, align, sign, verify -----------------------------------------------------------------------
cp "$ROOT/docs/real_dp/pixel_00_left.png" "$OUT/assets/sample_left.png"
cp "$ROOT/docs/real_dp/pixel_00_right.png" "$OUT/assets/sample_right.png"
if [[ -n "$PTE" ]]; then
  cp "$PTE" "$OUT/assets/"
  [[ -f "$PTE.json" ]] && cp "$PTE.json" "$OUT/assets/"
fi
# AGP 8 takes the package from build.gradle's namespace and refuses one in the manifest; aapt needs it there.
sed 's|<manifest |<manifest package="org.k3dn.demo" |' "$APP/src/main/AndroidManifest.xml" >"$OUT/AndroidManifest.xml"
UNSIGNED="$OUT/unsigned.apk"
aapt package -f -M "$OUT/AndroidManifest.xml" -A "$OUT/assets" -I "$FRAMEWORK" -F "$UNSIGNED" \
  --min-sdk-version 26 --target-sdk-version 34 \
  --version-code 1 --version-name 0.1 -0 pte
if [[ -n "$DEX" ]]; then (cd "$(dirname "$DEX")" && aapt add "$UNSIGNED" classes.dex >/dev/null); fi
ALIGNED="$OUT/aligned.apk"
zipalign -f -p 4 "$UNSIGNED" "$ALIGNED"
KS="$OUT/ks/debug.keystore"
keytool -genkeypair -keystore "$KS" -storepass android -keypass android -alias androiddebugkey -keyalg RSA \
  -keysize 2048 -validity 10000 -dname "CN=Android Debug,O=Android,C=US" >/dev/null 2>&1
APK="$OUT/k3dn-demo-debug.apk"
apksigner sign --ks "$KS" --ks-pass pass:android --key-pass pass:android --min-sdk-version 26 --out "$APK" "$ALIGNED"
apksigner verify --verbose --min-sdk-version 26 "$APK" | grep -E "^Verifies|v2 scheme|v3 scheme" || true
apksigner verify --min-sdk-version 26 "$APK" # fails the script if the signature does not verify
aapt dump badging "$APK" | grep -E "^(package|sdkVersion|targetSdkVersion|application-label|launchable-activity)"
aapt list "$APK" | sed 's/^/[apk]   /'
log "ok: $(basename "$APK") ($(du -h "$APK" | cut -f1)) aligned, signed with a debug key, verified$([[ -n "$DEX" ]] || echo ', no code')"
