#!/usr/bin/env bash
# Builds the demo app into an installable-format APK without Gradle or the Android SDK, from registry packages:
#   1. Debian bullseye's android.jar (libandroid-23-java) and dexer (dalvik-exchange, dx): `apt-get download` with a
#      private sources list and state folder (the system's apt is not touched), extracted, cached;
#   2. npm: react-native-executorch@0.8.5 (ExecuTorch's Android Java API, Java 8 classes, and arm64-v8a
#      libexecutorch.so with JNI_OnLoad and XNNPACK) and react-native@0.70.15 (its AAR: arm64-v8a libfbjni.so and
#      libc++_shared.so, which libexecutorch.so needs), `npm pack` (no install), extracted, cached;
#   3. compiles core (Java 8) and the app against android.jar, dexes app + core + org.pytorch.executorch into
#      classes.dex, and lists every class the dex references that is neither in it nor in android.jar: each one must
#      be named in android_demo/README.md with where a Gradle build gets it (dex_missing_classes.py);
#   4. packages manifest, assets (sample pair, the .pte given as $1), classes.dex and lib/arm64-v8a/ with aapt
#      against Debian's framework-res.apk, zipaligns, signs with a generated debug key, and verifies.
# Downloads are cached in $K3DN_ANDROID_CACHE (default ~/.cache/k3dn-android), outside the repository. The
# fbjni/SoLoader *Java* classes exist in no registry package: the APK runs the app's code, and where those classes
# are needed (the first use of ExecuTorch's Module) the app shows that the runtime cannot load instead of crashing.
# The APK Gradle builds on a developer machine (README) has them.
#
# Usage: android_demo/app/build-debug-apk.sh [MODEL.pte]     -> android_demo/build/apk/k3dn-demo-debug.apk
# Exit: 0 checked (or skipped, with the reason printed), non-zero on a failed check.
set -euo pipefail
APP="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEMO="$(dirname "$APP")"
ROOT="$(dirname "$DEMO")"
CACHE="${K3DN_ANDROID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k3dn-android}"
OUT="$DEMO/build/apk"
PTE="${1:-}"
RNE_VERSION=0.8.5 # npm: org.pytorch.executorch's Java classes (without fbjni's) and arm64-v8a libexecutorch.so
RN_VERSION=0.70.15 # npm: react-native's AAR, with arm64-v8a libfbjni.so and libc++_shared.so
PY="${PYTHON:-$(command -v python3)}"
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

# --- 1. android.jar and dx from Debian bullseye (a private apt: own sources list, lists and cache) -------------
SDK="$CACHE/bullseye"
ANDROID_JAR="$SDK/usr/share/java/com.android.android-23.jar"
DX_JAR="$SDK/usr/share/java/com.android.dx-10.0.0.jar"
if [[ ! -f "$ANDROID_JAR" || ! -f "$DX_JAR" ]]; then
  log "fetching android.jar (libandroid-23-java) and dx (dalvik-exchange) from Debian bullseye (cached in $SDK)"
  apt_dir="$CACHE/apt"
  mkdir -p "$apt_dir"/{lists/partial,archives/partial,debs}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main" \
    >"$apt_dir/sources.list"
  APT=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
       -o Dir::State="$apt_dir" -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir"
       -o Dir::Cache::Archives="$apt_dir/archives" -o Dir::State::status=/dev/null -o APT::Sandbox::User="$(id -un)"
       -o Debug::NoLocking=1)
  if apt-get "${APT[@]}" -qq update && (cd "$apt_dir/debs" && apt-get "${APT[@]}" -qq download \
       libandroid-23-java dalvik-exchange); then
    rm -rf "$SDK.tmp" && mkdir -p "$SDK.tmp"
    for deb in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$deb" "$SDK.tmp"; done
    rm -rf "$SDK" && mv "$SDK.tmp" "$SDK"
  fi
  rm -rf "$apt_dir"
fi
[[ -f "$ANDROID_JAR" && -f "$DX_JAR" ]] || skip "Debian bullseye's libandroid-23-java / dalvik-exchange could not be fetched"

# --- 2. ExecuTorch's Java API and arm64-v8a runtime, fbjni's native library (npm pack, cached) -------------------
ET_JAR="$CACHE/rne-$RNE_VERSION/classes.jar"
ET_SO="$CACHE/rne-$RNE_VERSION/arm64-v8a/libexecutorch.so"
if [[ ! -f "$ET_JAR" || ! -f "$ET_SO" ]]; then
  log "fetching react-native-executorch@$RNE_VERSION (npm pack, cached in $CACHE): ExecuTorch's Java API and runtime"
  tmp="$(mktemp -d)"
  if (cd "$tmp" && npm pack --silent "react-native-executorch@$RNE_VERSION" >/dev/null 2>&1); then
    tar xzf "$tmp"/react-native-executorch-*.tgz -C "$tmp" package/android/libs/classes.jar \
      package/third-party/android/libs/executorch/arm64-v8a/libexecutorch.so
    mkdir -p "$(dirname "$ET_SO")"
    mv "$tmp/package/android/libs/classes.jar" "$ET_JAR"
    mv "$tmp/package/third-party/android/libs/executorch/arm64-v8a/libexecutorch.so" "$ET_SO"
  fi
  rm -rf "$tmp"
fi
FBJNI_DIR="$CACHE/rn-$RN_VERSION/arm64-v8a"
if [[ ! -f "$FBJNI_DIR/libfbjni.so" || ! -f "$FBJNI_DIR/libc++_shared.so" ]]; then
  log "fetching react-native@$RN_VERSION (npm pack, 75 MB, cached in $CACHE): libfbjni.so from its AAR"
  tmp="$(mktemp -d)"
  aar="package/android/com/facebook/react/react-native/$RN_VERSION/react-native-$RN_VERSION-release.aar"
  if (cd "$tmp" && npm pack --silent "react-native@$RN_VERSION" >/dev/null 2>&1); then
    tar xzf "$tmp"/react-native-*.tgz -C "$tmp" "$aar"
    mkdir -p "$FBJNI_DIR"
    unzip -q -o -j "$tmp/$aar" "jni/arm64-v8a/libfbjni.so" "jni/arm64-v8a/libc++_shared.so" -d "$FBJNI_DIR"
  fi
  rm -rf "$tmp"
fi
[[ -f "$ET_JAR" && -f "$ET_SO" && -f "$FBJNI_DIR/libfbjni.so" ]] \
  || skip "npm could not fetch react-native-executorch@$RNE_VERSION / react-native@$RN_VERSION"

# --- 3. Compile, dex, and list the classes the dex references but nobody provides ---------------------------------
# core takes Java 8's API (Math.floorMod is Android API 24, above android-23.jar; the app's minSdk is 26). The app
# compiles against android.jar alone, for Java 8 class files without lambdas: dx cannot desugar them and Android
# has no LambdaMetafactory.
mkdir -p "$OUT/classes"/{core,app,executorch} "$OUT/dex"
javac --release 8 -Xlint:all,-options -Werror -encoding UTF-8 -d "$OUT/classes/core" \
  $(find "$DEMO/core/src/main/java" -name '*.java')
javac -source 8 -target 8 -bootclasspath "$ANDROID_JAR" -Xlint:all,-options -Werror -encoding UTF-8 \
  -d "$OUT/classes/app" -cp "$OUT/classes/core:$ET_JAR" $(find "$APP/src/main/java" -name '*.java')
(cd "$OUT/classes/executorch" && unzip -q -o "$ET_JAR" 'org/pytorch/executorch/*')
java -jar "$DX_JAR" --dex --min-sdk-version=26 --output="$OUT/dex/classes.dex" \
  "$OUT/classes/app" "$OUT/classes/core" "$OUT/classes/executorch"
DEX="$OUT/dex/classes.dex"
n_app=$(find "$OUT/classes/app" "$OUT/classes/core" -name '*.class' | wc -l)
log "ok: classes.dex ($(du -h "$DEX" | cut -f1)) from $n_app app + core classes and org.pytorch.executorch" \
    "($(find "$OUT/classes/executorch" -name '*.class' | wc -l) classes), dx $(basename "$DX_JAR" .jar)"
"$PY" "$APP/dex_missing_classes.py" "$DEX" "$ANDROID_JAR" "$DEMO/README.md"

# The native runtime: arm64 ELF files, and libexecutorch.so is a JNI library whose dependencies travel with it.
mkdir -p "$OUT/lib/arm64-v8a"
cp "$ET_SO" "$FBJNI_DIR/libfbjni.so" "$FBJNI_DIR/libc++_shared.so" "$OUT/lib/arm64-v8a/"
for so in "$OUT"/lib/arm64-v8a/*.so; do
  readelf -h "$so" | grep "Machine:.*AArch64" >/dev/null || { log "FAIL: $(basename "$so") is not an arm64 library"; exit 1; }
done
# (grep reads all its input, no -q: under pipefail an early exit would fail the writer with SIGPIPE)
readelf --dyn-syms -W "$OUT/lib/arm64-v8a/libexecutorch.so" | grep " JNI_OnLoad$" >/dev/null \
  || { log "FAIL: libexecutorch.so exports no JNI_OnLoad"; exit 1; }
for need in $(readelf -d "$OUT/lib/arm64-v8a/libexecutorch.so" "$OUT/lib/arm64-v8a/libfbjni.so" \
              | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
  case "$need" in libc.so|libm.so|libdl.so|liblog.so|libandroid.so) ;;  # the phone's system libraries
    *) [[ -f "$OUT/lib/arm64-v8a/$need" ]] || { log "FAIL: $need (needed) is not in lib/arm64-v8a"; exit 1; } ;;
  esac
done
log "ok: lib/arm64-v8a: $(cd "$OUT/lib/arm64-v8a" && echo *) (AArch64, JNI_OnLoad, every non-system NEEDED present)"

# --- 4. Package, align, sign, verify -----------------------------------------------------------------------
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
(cd "$(dirname "$DEX")" && aapt add "$UNSIGNED" classes.dex >/dev/null)
(cd "$OUT" && aapt add "$UNSIGNED" lib/arm64-v8a/*.so >/dev/null)
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
aapt list "$APK" | grep -x classes.dex >/dev/null && aapt list "$APK" | grep -x lib/arm64-v8a/libexecutorch.so >/dev/null \
  || { log "FAIL: the APK lacks classes.dex or lib/arm64-v8a/libexecutorch.so"; exit 1; }
log "ok: $(basename "$APK") ($(du -h "$APK" | cut -f1)) with classes.dex and lib/arm64-v8a/, aligned, signed with a" \
    "debug key, verified"
