#!/usr/bin/env bash
# ARM numerics check: the shipped fp32 and int8 artifacts of ExecuTorch, ONNX Runtime and LiteRT, run by their
# aarch64 runtimes under user-mode emulation (qemu-aarch64) on several CPU models, against the x86 output of the
# same artifact. Prints a table and a one-line summary (last line); exits 1 on any mismatch, 2 if it cannot run.
#
# Installs what it lacks and caches it in $K3DN_ARM_CACHE (default ~/.cache/k3dn-arm, outside the repo):
#   - qemu-user 10.x from Debian trixie (its qemu-aarch64 is static-pie, so it runs from the extracted .deb on
#     bookworm; bookworm's own qemu 7.2 is not used: its SME emulation under -cpu max gave a false mismatch);
#   - an arm64 Python 3.11 root from Debian bookworm's arm64 .debs (extracted, never installed), the qemu -L root;
#   - aarch64 wheels (pip download --platform): onnxruntime, ai-edge-litert and numpy at the versions this venv
#     has, and executorch $ET_NATIVE_VERSION's C++ runtime (libexecutorch*.so + headers) with its x86 twin;
#   - g++-aarch64-linux-gnu (apt-get, on this machine) to build benchmarks/arm/et_runner.cpp for aarch64.
# Artifacts come from the k3dn artifact cache ($K3DN_CACHE, built at --size if missing). The comparison, the
# tolerances and why: benchmarks/arm/parity.py and docs/arm.md.
#
# Usage: bash benchmarks/arm_parity.sh [--size 64x64] [--cpu MODEL ...] [--backend B ...] [--precision P ...]
#                                      [--json PATH]
# Env:   PYTHON (else the repo's .venv, else python3), K3DN_ARM_CACHE, ET_NATIVE_VERSION (default 1.5.1: the pin,
#        1.4.1, ships no libexecutorch.so in its wheels), K3DN_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#        QEMU_AARCH64 (another qemu-aarch64 to use as given, e.g. to compare qemu versions; docs/arm.md)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
CACHE="${K3DN_ARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k3dn-arm}"
ET_NATIVE_VERSION="${ET_NATIVE_VERSION:-1.5.1}"
MIRROR="${K3DN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SIZE=64x64
CPUS=()
EXTRA=()
JSON="$CACHE/arm_parity.json"
while (($#)); do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --cpu) CPUS+=("$2"); shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    --backend|--precision) EXTRA+=("$1" "$2"); shift 2 ;;
    *) echo "usage: $0 [--size HxW] [--cpu MODEL ...] [--backend B ...] [--precision P ...] [--json PATH]" >&2
       exit 2 ;;
  esac
done
# NEON only (Cortex-A53), + dotprod/fp16 (Cortex-A76), + SVE/i8mm/bf16 (Neoverse-V1), everything qemu has (max:
# SVE2, SME/SME2, i8mm).
((${#CPUS[@]})) || CPUS=(cortex-a53 cortex-a76 neoverse-v1 max)
start=$(date +%s)
log() { echo "[arm_parity] $*" >&2; }
mkdir -p "$CACHE"

if [[ -n "${PYTHON:-}" ]]; then PY="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"
else PY="$(command -v python3)"; fi
if ! "$PY" -c "import k3dn, executorch, onnxruntime, ai_edge_litert" 2>/dev/null; then
  echo "arm_parity: error: $PY cannot import k3dn with its runtimes (executorch, onnxruntime, ai-edge-litert):" \
       "activate the project's venv (. .venv/bin/activate) or run pip install -e '.[all]' first" >&2
  exit 2
fi
SKIP=()

# A private apt state under $CACHE: downloads .debs of another suite/architecture without touching the system's.
apt_private() {  # NAME "SOURCES LINE" ARCH -- apt-get args...
  local dir="$CACHE/apt-$1" line="$2" arch="$3"; shift 4
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  echo "$line" >"$dir/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o Dir::State::status=/dev/null
              -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o "APT::Architecture=$arch"
              -o "APT::Architectures::=$arch")
  apt-get "${opts[@]}" update -qq  # only when something is missing from $CACHE, so the lists are fresh
  (cd "$dir" && apt-get "${opts[@]}" "$@")
}

# --- 1. qemu-aarch64 10.x (Debian trixie's qemu-user; static-pie) -------------------------------------------
QEMU="${QEMU_AARCH64:-$CACHE/qemu/usr/bin/qemu-aarch64}"
if [[ -n "${QEMU_AARCH64:-}" ]]; then
  log "using QEMU_AARCH64=$QEMU_AARCH64 as given ($("$QEMU" --version | head -1))"
elif [[ ! -x "$QEMU" ]]; then
  log "fetching qemu-user from Debian trixie ($MIRROR)"
  if apt_private trixie "deb $MIRROR trixie main" amd64 -- download -qq qemu-user >/dev/null 2>&1; then
    rm -rf "$CACHE/qemu" "$CACHE/qemu.tmp" && dpkg-deb -x "$CACHE"/apt-trixie/qemu-user_*.deb "$CACHE/qemu.tmp"
    mkdir -p "$(dirname "$QEMU")" && mv "$CACHE/qemu.tmp/usr/bin/qemu-aarch64" "$QEMU" && rm -rf "$CACHE/qemu.tmp"
  fi
  rm -rf "$CACHE/apt-trixie"  # lists and .deb (90 MB), not needed once extracted
fi
if [[ -n "${QEMU_AARCH64:-}" && -x "$QEMU" ]]; then :
elif [[ -x "$QEMU" ]] && "$QEMU" --version | grep -qE "version (1[0-9]|[2-9][0-9])\."; then
  log "$("$QEMU" --version | head -1)"
else
  reason="qemu-user 10.x could not be had from Debian trixie ($MIRROR)"
  SKIP+=(--skip "executorch=$reason" --skip "onnx=$reason" --skip "tflite=$reason"); QEMU=""
fi

# --- 2. arm64 Python 3.11 root (Debian bookworm arm64 .debs, extracted) --------------------------------------
SYSROOT="$CACHE/arm64-root"
ARM_DEBS=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 libexpat1 zlib1g libffi8 libbz2-1.0
          liblzma5 libssl3 libstdc++6 libgcc-s1 libcrypt1 libuuid1 libgomp1)
if [[ -n "$QEMU" && ! -x "$SYSROOT/usr/bin/python3.11" ]]; then
  log "fetching an arm64 Python 3.11 root from Debian bookworm arm64 .debs"
  rm -rf "$SYSROOT.tmp"
  if apt_private bookworm-arm64 "deb [arch=arm64] $MIRROR bookworm main" arm64 -- download -qq "${ARM_DEBS[@]}" \
       >/dev/null 2>&1; then
    for deb in "$CACHE/apt-bookworm-arm64"/*.deb; do dpkg-deb -x "$deb" "$SYSROOT.tmp"; done
    rm -rf "$SYSROOT" && mv "$SYSROOT.tmp" "$SYSROOT"
  fi
  rm -rf "$CACHE/apt-bookworm-arm64"
fi

# --- 3. aarch64 wheels: ONNX Runtime, LiteRT, numpy (this venv's versions) into a site folder --------------
ver() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
PINS="onnxruntime==$(ver onnxruntime) ai-edge-litert==$(ver ai-edge-litert) numpy==$(ver numpy)"
SITE="$CACHE/site-aarch64/$(echo "$PINS" | tr ' =' '_-')"
PLATFORMS=(--platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64
           --platform manylinux2014_aarch64)
if [[ -n "$QEMU" && ! -d "$SITE" ]]; then
  log "fetching aarch64 wheels: $PINS"
  # shellcheck disable=SC2086
  "$PY" -m pip install --quiet --target "$SITE.tmp" "${PLATFORMS[@]}" --python-version 3.11 --only-binary=:all: \
    $PINS >"$CACHE/pip-site.log" 2>&1 && mv "$SITE.tmp" "$SITE" || rm -rf "$SITE.tmp"
fi
if [[ -z "$QEMU" ]]; then :
elif [[ ! -x "$SYSROOT/usr/bin/python3.11" ]]; then
  reason="no arm64 Python: Debian bookworm arm64 .debs could not be had ($MIRROR)"
  SKIP+=(--skip "onnx=$reason" --skip "tflite=$reason")
elif [[ ! -d "$SITE" ]]; then
  reason="no aarch64 wheels for $PINS: $(grep -E "^ERROR" "$CACHE/pip-site.log" | head -1)"
  SKIP+=(--skip "onnx=$reason" --skip "tflite=$reason")
fi

# --- 4. ExecuTorch C++ runner, built natively and for aarch64 against executorch's wheels --------------------
et_lib() {  # PLATFORM_ARGS... -> prints the extracted folder (lib/, include/), or nothing
  local dir="$CACHE/executorch-$ET_NATIVE_VERSION-$1"; shift
  "$PY" "$HERE/et_native.py" "$dir" "$ET_NATIVE_VERSION" "$@" 2>"$CACHE/pip-et.log" || true
  [[ -f "$dir/lib/libexecutorch.so" ]] && echo "$dir"
}
build_runner() {  # CXX ET_DIR OUT
  local et="$2"
  [[ -x "$3" ]] || "$1" -std=c++17 -O2 -Wall -Wno-deprecated-declarations -DC10_USING_CUSTOM_GENERATED_MACROS \
    -DET_EVENT_TRACER_ENABLED -I "$et/include" -I "$et/include/executorch/runtime/core/portable_type/c10" \
    "$HERE/arm/et_runner.cpp" -o "$3" -L "$et/lib" -Wl,--no-as-needed -lexecutorch_backend_xnnpack \
    -lexecutorch_kernels_optimized -Wl,--as-needed -lexecutorch -Wl,-rpath,"$et/lib"
}
ET_ARGS=()
if [[ -n "$QEMU" ]]; then
  if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v g++ >/dev/null; then
    log "installing g++ and g++-aarch64-linux-gnu (apt-get)"
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        g++ g++-aarch64-linux-gnu; } >"$CACHE/apt-gxx.log" 2>&1 || true
  fi
  ET_X86="$(et_lib x86_64)" || true
  ET_A64="$(et_lib aarch64 "${PLATFORMS[@]}" --python-version 3.11)" || true
  key=$(cat "$HERE/arm/et_runner.cpp" | sha256sum | cut -c1-12)
  if [[ -z "$ET_X86" || -z "$ET_A64" ]]; then
    SKIP+=(--skip "executorch=executorch==$ET_NATIVE_VERSION's wheels carry no libexecutorch.so for x86_64 and aarch64: \
$(grep -E "^ERROR" "$CACHE/pip-et.log" | head -1)")
  elif ! command -v aarch64-linux-gnu-g++ >/dev/null; then
    SKIP+=(--skip "executorch=g++-aarch64-linux-gnu could not be installed (see $CACHE/apt-gxx.log)")
  elif build_runner g++ "$ET_X86" "$ET_X86/et_runner-$key" \
       && build_runner aarch64-linux-gnu-g++ "$ET_A64" "$ET_A64/et_runner-$key"; then
    ET_ARGS=(--et-x86 "$ET_X86/et_runner-$key" --et-a64 "$ET_A64/et_runner-$key" --et-version "$ET_NATIVE_VERSION")
  else
    SKIP+=(--skip "executorch=et_runner.cpp did not build against executorch $ET_NATIVE_VERSION")
  fi
fi
log "tools ready in $(( $(date +%s) - start )) s (cache: $CACHE)"

# --- 5. Run and compare ---------------------------------------------------------------------------------------
CPU_ARGS=(); for c in "${CPUS[@]}"; do CPU_ARGS+=(--cpu "$c"); done
QEMU_ARGS=(); [[ -z "$QEMU" ]] || QEMU_ARGS=(--qemu "$QEMU" --sysroot "$SYSROOT" --arm-site "$SITE")
exec "$PY" "$HERE/arm/parity.py" --size "$SIZE" "${CPU_ARGS[@]}" "${QEMU_ARGS[@]}" "${ET_ARGS[@]}" "${SKIP[@]}" \
  "${EXTRA[@]}" --json "$JSON"
