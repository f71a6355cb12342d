#!/usr/bin/env bash
# Build llama-cpp-python for any x86-64 CPU and install it into a virtual environment.
#
#   .ci/build-llama.sh PYTHON [VARIANT]        build (or reuse) and install
#   .ci/build-llama.sh --wheel VARIANT         build (or reuse) only; print the wheel's path
#   .ci/build-llama.sh --store VARIANT         print the folder the VARIANT's wheel is kept in
#
# llama-cpp-python ships as source and, left to itself, compiles for the build machine's own
# instruction set (GGML_NATIVE), AMX included where the CPU lists it: such a binary faults on
# any CPU that lacks one of those extensions, or that advertises AMX without allowing it. Here
# every flag is explicit and the build never looks at the machine it runs on. VARIANT:
#   dispatch  (default) every CPU variant of llama.cpp's CPU backend, the best one chosen at
#             run time from what the CPU reports; the AMX variant is left out
#   avx2      one static build for AVX2 CPUs (Intel since 2013, AMD since 2015)
#   avx512    one static build for AVX-512 CPUs (faults with SIGILL on CPUs without it)
#   x64       one static build without AVX, for the oldest x86-64 CPUs
#   native    this machine's own instruction set: for speed comparisons only
#
# pip caches built wheels per version, not per flags or CPU, so this script never lets pip
# cache or reuse one: wheels are kept in a folder named after a hash of the version, the
# flags and the compiler, and installed from there. The installed library files' hashes are
# recorded in <venv>/share/rag/llama-build.json, which `rag doctor` reads and checks.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml | head -1)
# GGML_NATIVE=OFF turns SSE4.2, AVX, AVX2, BMI2, FMA and F16C on unless told otherwise.
NO_AMX="-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
AVX2="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF $NO_AMX"
AVX512="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON $NO_AMX"
X64="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_SSE42=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF -DGGML_AVX512=OFF $NO_AMX"
DISPATCH="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"

wheel_only=""; store_only=""
if [ "${1:-}" = "--wheel" ]; then wheel_only=1; PYTHON=""; VARIANT=${2:?variant}
elif [ "${1:-}" = "--store" ]; then store_only=1; PYTHON=""; VARIANT=${2:?variant}; else
  PYTHON=${1:?usage: build-llama.sh PYTHON [VARIANT]}; VARIANT=${2:-dispatch}; fi

case "$VARIANT" in
  dispatch) ARGS="$DISPATCH" ;;
  avx2) ARGS="$AVX2" ;;
  avx512) ARGS="$AVX512" ;;
  x64) ARGS="$X64" ;;
  native) ARGS="-DLLAVA_BUILD=OFF" ;;
  *) echo "build-llama.sh: unknown variant '$VARIANT' (dispatch, avx2, avx512, x64, native)" >&2; exit 2 ;;
esac

BUILDER=${PYTHON:-python3}
KEY=$( { echo "$VERSION $VARIANT $ARGS"; gcc --version | head -1; cmake --version | head -1;
         "$BUILDER" -c 'import sys; print(sys.version_info[:2])'; } | sha256sum | cut -c1-16)
if [ "$VARIANT" = native ]; then KEY="$KEY-$(grep -m1 '^flags' /proc/cpuinfo | sha256sum | cut -c1-8)"; fi
STORE=${RAG_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/rag/wheels}/llama-cpp-python-$VERSION-$VARIANT-$KEY
if [ -n "$store_only" ]; then echo "$STORE"; exit 0; fi

if ! ls "$STORE"/*.whl >/dev/null 2>&1; then
  echo "Building llama-cpp-python $VERSION ($VARIANT) for any x86-64 CPU: about 10-25 minutes on 2 cores..." >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  CMAKE_ARGS="$ARGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$BUILDER" -m pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$work/wheel" "llama-cpp-python==$VERSION" >"$work/log" 2>&1 || {
      tail -40 "$work/log" >&2; echo "build-llama.sh: the llama.cpp build failed (log above)" >&2; exit 1; }
  if [ "$VARIANT" = dispatch ]; then
    # The backends are loaded from the package's lib folder (see rag.generation). AMX kernels
    # fault on machines that list AMX without granting it, so that variant is not shipped.
    "$BUILDER" .ci/dispatch-wheel.py "$work/wheel"
  fi
  mkdir -p "$(dirname "$STORE")"
  rm -rf "$STORE.tmp" && mv "$work/wheel" "$STORE.tmp" && mv "$STORE.tmp" "$STORE"
fi
WHEEL=$(ls "$STORE"/*.whl | head -1)
if [ -n "$wheel_only" ]; then echo "$WHEEL"; exit 0; fi

"$PYTHON" -m pip install -q --no-deps --force-reinstall --no-index "$WHEEL"
"$PYTHON" - "$VARIANT" "$ARGS" "$WHEEL" <<'EOF'
import hashlib, json, pathlib, sys, importlib.util
variant, args, wheel = sys.argv[1:]
lib = pathlib.Path(importlib.util.find_spec("llama_cpp").origin).parent / "lib"
files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(lib.glob("*.so*"))}
record = {"version": pathlib.Path(wheel).name.split("-")[1], "variant": variant, "cmake_args": args,
          "wheel": wheel, "libraries": files}
path = pathlib.Path(sys.prefix) / "share" / "rag" / "llama-build.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(record, indent=2) + "\n")
print(f"llama-cpp-python {record['version']} ({variant}) installed from {wheel}")
EOF
