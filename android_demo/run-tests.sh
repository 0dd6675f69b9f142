#!/usr/bin/env bash
# Build and test the Android demo's Java parts on this machine (no Android device or SDK needed):
#   1. core/  (plain Java: tiling, blending, levels, DP raw, Deblurrer) against the checked-in golden vectors;
#   2. jvm/   (JNI into ExecuTorch's C++ runtime) driving core on a real exported .pte, against the Python
#             pipeline on the same artifact;
#   3. app/build-debug-apk.sh: the app's packaging check (K3DN_SKIP_APK=1 leaves it out).
# Installs what it lacks (Debian: a JDK, g++, junit5; PyPI: the executorch wheel whose native libraries the
# JNI shim links), caches downloads and the exported .pte under android_demo/.cache, builds into
# android_demo/build, prints JUnit's summary and exits non-zero on any failure.
#
# Usage: android_demo/run-tests.sh        (from anywhere; uses $PYTHON, else the repo's .venv, else python3)
# Env:   ET_NATIVE_VERSION  executorch wheel whose C++ libraries the JNI shim links (default 1.5.1: the
#                           project's pin, 1.4.1, ships no libexecutorch.so or Module headers)
#        K3DN_TEST_SIZE     export size of the test .pte (default 64x64)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
CACHE="$HERE/.cache"
BUILD="$HERE/build"
ET_NATIVE_VERSION="${ET_NATIVE_VERSION:-1.5.1}"
SIZE="${K3DN_TEST_SIZE:-64x64}"
start=$(date +%s)
log() { echo "[run-tests] $*"; }

if [[ -n "${PYTHON:-}" ]]; then PY="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"
else PY="$(command -v python3)"; fi
if ! "$PY" -c "import k3dn, executorch" 2>/dev/null; then  # it exports the test .pte with the project's exporter
  echo "run-tests.sh: error: $PY cannot import k3dn and executorch: activate the project's venv" \
       "(. .venv/bin/activate), set PYTHON=/path/to/that/venv/bin/python, or run pip install -e '.[all]'" >&2
  exit 2
fi

# --- 1. Debian packages (skipped when present, so a second run does not touch apt) --------------------------
JAVA_SHARE=/usr/share/java
need=()
command -v javac >/dev/null || need+=(default-jdk-headless)
command -v g++ >/dev/null || need+=(g++)
[[ -f "$JAVA_SHARE/junit-platform-console-standalone.jar" && -f "$JAVA_SHARE/junit-jupiter-api.jar" ]] \
  || need+=(junit5)
if ((${#need[@]})); then
  log "installing ${need[*]} (apt-get)"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
JUNIT_API="$JAVA_SHARE/junit-jupiter-api.jar:$JAVA_SHARE/apiguardian-api.jar:$JAVA_SHARE/opentest4j.jar"
JUNIT_API="$JUNIT_API:$JAVA_SHARE/junit-platform-commons.jar"
LAUNCHER="$JAVA_SHARE/junit-platform-console-standalone.jar"

# --- 2. Compile core and jvm (Java 8 class files, what Android's dexers take) ------------------------------
rm -rf "$BUILD/classes"
mkdir -p "$BUILD/classes"/{core,core-test,jvm,jvm-test} "$BUILD/native"
JAVAC=(javac --release 8 -Xlint:all,-options -Werror -encoding UTF-8)
"${JAVAC[@]}" -d "$BUILD/classes/core" $(find "$HERE/core/src/main/java" -name '*.java')
"${JAVAC[@]}" -d "$BUILD/classes/core-test" -cp "$BUILD/classes/core:$JUNIT_API" \
  $(find "$HERE/core/src/test/java" -name '*.java')
cp -r "$HERE/core/src/test/resources/." "$BUILD/classes/core-test/"
"${JAVAC[@]}" -d "$BUILD/classes/jvm" -cp "$BUILD/classes/core" $(find "$HERE/jvm/src/main/java" -name '*.java')
"${JAVAC[@]}" -d "$BUILD/classes/jvm-test" -cp "$BUILD/classes/core:$BUILD/classes/core-test:$BUILD/classes/jvm:$JUNIT_API" \
  $(find "$HERE/jvm/src/test/java" -name '*.java')
log "compiled core and jvm"

# --- 3. ExecuTorch's native libraries (PyPI wheel, cached), the JNI shim, the .pte and the reference -------
skip=""
ET_DIR="$CACHE/executorch-$ET_NATIVE_VERSION"
if [[ ! -f "$ET_DIR/lib/libexecutorch.so" ]]; then
  log "fetching executorch==$ET_NATIVE_VERSION's native libraries (pip download, cached in $ET_DIR)"
  mkdir -p "$CACHE"
  "$PY" "$ROOT/benchmarks/et_native.py" "$ET_DIR" "$ET_NATIVE_VERSION" 2>"$CACHE/pip-download.log" || true
  [[ -f "$ET_DIR/lib/libexecutorch.so" ]] || skip="executorch==$ET_NATIVE_VERSION's wheel (libexecutorch.so) could \
not be had for this platform/Python from PyPI: $(tail -1 "$CACHE/pip-download.log" 2>/dev/null)"
fi
if [[ -z "$skip" && ! -f "$ET_DIR/lib/libexecutorch_backend_xnnpack.so" ]]; then
  skip="executorch==$ET_NATIVE_VERSION's wheel ships no XNNPACK backend library"
fi

JNI_LIB="$BUILD/native/libk3dn_executorch_jni.so"
PTE=""; REF="$BUILD/reference"
if [[ -z "$skip" ]]; then
  JDK_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
  g++ -std=c++17 -O2 -fPIC -shared -Wall -Wno-deprecated-declarations \
    -DC10_USING_CUSTOM_GENERATED_MACROS -DET_EVENT_TRACER_ENABLED \
    -I "$ET_DIR/include" -I "$ET_DIR/include/executorch/runtime/core/portable_type/c10" \
    -I "$JDK_HOME/include" -I "$JDK_HOME/include/linux" \
    "$HERE/jvm/src/main/cpp/k3dn_executorch_jni.cpp" -o "$JNI_LIB" \
    -L "$ET_DIR/lib" -Wl,--no-as-needed -lexecutorch_backend_xnnpack -lexecutorch_kernels_optimized \
    -Wl,--as-needed -lexecutorch -Wl,-rpath,"$ET_DIR/lib"
  log "built $(basename "$JNI_LIB") against executorch $ET_NATIVE_VERSION's native libraries"

  # The .pte: exported with the project's pinned exporter and the shipped weights, cached by what it depends on
  # (a stale cache could not hide a bug: the Python reference below is made from the same file every run).
  key=$("$PY" - "$ROOT" "$SIZE" <<'EOF'
import hashlib, importlib.metadata, pathlib, sys
root, size = pathlib.Path(sys.argv[1]), sys.argv[2]
h = hashlib.sha256(f"{size} executorch {importlib.metadata.version('executorch')}".encode())
model = ("model", "blocks", "config", "kernels", "psf", "srp", "disparity", "padding", "weights_io")
for p in sorted([*(root / "k3dn" / "weights").glob("*.safetensors"), *(root / "export").rglob("*.py"),
                 *(root / "k3dn" / "network" / f"{m}.py" for m in model)]):
    h.update(p.read_bytes())
print(h.hexdigest()[:16])
EOF
)
  PTE_DIR="$CACHE/pte/$key"
  PTE="$PTE_DIR/k3dn_tiny_${SIZE}_fp32.pte"
  if [[ ! -f "$PTE" ]]; then
    log "exporting the shipped K3DN-Tiny at $SIZE (cached in $PTE_DIR)"
    rm -rf "$CACHE/pte" # older exports (other weights/exporter) are not needed again
    "$PY" -c 'import sys; from k3dn.cli import main; sys.exit(main())' export --backend executorch \
      --size "$SIZE" --out "$PTE_DIR" 2>&1 | grep -E "executorch:|result|ok|FAIL" | grep -v cpuinfo || true
    [[ -f "$PTE" ]] || { log "FAIL: k3dn export did not write $PTE"; exit 1; }
  fi
  rm -rf "$REF"
  "$PY" "$HERE/jvm/make_reference.py" --pte "$PTE" --out "$REF" 2>&1 | grep -E "^wrote|Error|error" || true
  [[ -f "$REF/index.properties" ]] || { log "FAIL: make_reference.py wrote no reference vectors"; exit 1; }
else
  log "JVM tests will be SKIPPED: $skip"
fi

# --- 4. Run core + jvm tests ------------------------------------------------------------------------------
set +e
java -Dk3dn.jni.library="$JNI_LIB" -Dk3dn.jvm.pte="$PTE" -Dk3dn.jvm.reference="$REF" -Dk3dn.jvm.skip="$skip" \
  -jar "$LAUNCHER" --disable-banner --disable-ansi-colors --fail-if-no-tests --details=tree \
  -cp "$BUILD/classes/core:$BUILD/classes/core-test:$BUILD/classes/jvm:$BUILD/classes/jvm-test" \
  --select-package org.k3dn.core --select-package org.k3dn.jvm \
  --reports-dir "$BUILD/test-reports" 2>&1 | grep -v -E "cpuinfo_utils|^I [0-9:.]+ executorch:"
rc=${PIPESTATUS[0]}
set -e
[[ -z "$skip" ]] || log "JVM parity tests SKIPPED: $skip"

# --- 5. The APK: app + core + ExecuTorch's Java API dexed, arm64-v8a runtime, missing-class check, signed ------
# (app/build-debug-apk.sh; its downloads are cached in $K3DN_ANDROID_CACHE, default ~/.cache/k3dn-android)
apk_rc=0
if [[ "${K3DN_SKIP_APK:-0}" == 1 ]]; then
  log "APK build SKIPPED: K3DN_SKIP_APK=1"
else
  "$HERE/app/build-debug-apk.sh" ${PTE:+"$PTE"} || apk_rc=$?
fi
log "finished in $(( $(date +%s) - start )) s (JUnit exit $rc, APK build exit $apk_rc)"
((rc == 0)) || exit "$rc"
exit "$apk_rc"
