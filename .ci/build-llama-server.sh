#!/usr/bin/env bash
# Build llama.cpp's own HTTP server, `llama-server`, for any x86-64 CPU and install it into a
# virtual environment, next to the llama-cpp-python that .ci/build-llama.sh installed there.
#
#   .ci/build-llama-server.sh PYTHON           build (or reuse) and install
#
# The server is compiled from the very source the library was: the llama.cpp vendored in the
# pinned llama-cpp-python sdist (`vendor/llama.cpp`), with the library's own CMake flags, read
# from the record build-llama.sh wrote (<venv>/share/rag/llama-build.json). The variant (dispatch,
# avx2, avx512, x64, native) therefore follows the library's; with `dispatch` every CPU variant
# of the backend is built as `libggml-cpu-<cpu>.so` beside the binary, which loads the best one
# for the CPU at start-up, and the AMX variant (`sapphirerapids`) is left out, as
# .ci/dispatch-wheel.py leaves it out of the wheel. On top of those flags the server gets no
# HTTPS client and no web UI (nothing is downloaded, at build or run time), and only the
# `llama-server` target is built.
#
# Builds are kept beside the wheels, in a folder named after a hash of the version, the variant,
# the flags and the compiler. The binary and its libraries (found through an $ORIGIN rpath) go
# to <venv>/share/rag/llama-server/, and their hashes to <venv>/share/rag/llama-server.json,
# which `rag model-server --check` and the tests compare with the files.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${1:?usage: build-llama-server.sh PYTHON}
VERSION=$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml | head -1)
PREFIX=$("$PYTHON" -c 'import sys; print(sys.prefix)')
LIBRARY_RECORD=$PREFIX/share/rag/llama-build.json
read -r BUILT VARIANT LIBRARY_ARGS <<<"$("$PYTHON" -c 'import json, sys
r = json.load(open(sys.argv[1])); print(r["version"], r["variant"], r["cmake_args"])' \
  "$LIBRARY_RECORD" 2>/dev/null || true)"
if [ "${BUILT:-}" != "$VERSION" ]; then
  echo "build-llama-server.sh: no record at $LIBRARY_RECORD of llama-cpp-python $VERSION built by .ci/build-llama.sh: run \`make llama\` first" >&2
  exit 1
fi
# LLAVA_BUILD is llama-cpp-python's own option; llama.cpp has none of that name.
ARGS=$(echo "$LIBRARY_ARGS" | sed 's/-DLLAVA_BUILD=[A-Z]*//; s/^ *//')
SERVER=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON '-DCMAKE_INSTALL_RPATH=$ORIGIN')

KEY=$( { echo "$VERSION $VARIANT $ARGS ${SERVER[*]}"; gcc --version | head -1; g++ --version | head -1;
         cmake --version | head -1; } | sha256sum | cut -c1-16)
if [ "$VARIANT" = native ]; then KEY="$KEY-$(grep -m1 '^flags' /proc/cpuinfo | sha256sum | cut -c1-8)"; fi
STORE=${RAG_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/rag/wheels}/llama-server-$VERSION-$VARIANT-$KEY

if [ ! -x "$STORE/llama-server" ]; then
  echo "Building llama-server $VERSION ($VARIANT) for any x86-64 CPU: about 15-30 minutes on 2 cores..." >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$PYTHON" -m pip download -q --no-binary :all: --no-deps -d "$work" "llama-cpp-python==$VERSION" \
    >"$work/log" 2>&1 || {
      tail -20 "$work/log" >&2
      echo "build-llama-server.sh: could not download the llama-cpp-python $VERSION sdist (log above)" >&2; exit 1; }
  sdist=$work/llama_cpp_python-$VERSION.tar.gz
  tar -xzf "$sdist" -C "$work"
  src=$work/llama_cpp_python-$VERSION/vendor/llama.cpp
  # shellcheck disable=SC2086  # ARGS holds several flags
  { cmake -S "$src" -B "$work/build" $ARGS "${SERVER[@]}" &&
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
      cmake --build "$work/build" --target llama-server; } >>"$work/log" 2>&1 || {
    tail -40 "$work/log" >&2; echo "build-llama-server.sh: the llama-server build failed (log above)" >&2; exit 1; }
  out=$work/out
  mkdir "$out"
  cp -a "$work/build/bin/llama-server" "$work/build/bin/"*.so* "$out/"
  if [ "$VARIANT" = dispatch ]; then
    ls "$out"/libggml-cpu-*.so >/dev/null 2>&1 || {
      echo "build-llama-server.sh: the build has no CPU backend variants (GGML_CPU_ALL_VARIANTS?)" >&2; exit 1; }
    # AMX kernels fault on machines that list AMX without granting it: that variant is not shipped.
    rm -f "$out"/libggml-cpu-*sapphirerapids*.so
  fi
  sha256sum "$sdist" | cut -d' ' -f1 >"$out/.sdist.sha256"
  mkdir -p "$(dirname "$STORE")"
  rm -rf "$STORE.tmp" && mv "$out" "$STORE.tmp" && mv "$STORE.tmp" "$STORE"
fi

TARGET=$PREFIX/share/rag/llama-server
rm -rf "$TARGET" && mkdir -p "$TARGET"
cp -a "$STORE"/llama-server "$STORE"/*.so* "$TARGET/"
"$PYTHON" - "$STORE" "$TARGET" "$VERSION" "$VARIANT" "$ARGS" "${SERVER[*]}" <<'EOF'
import hashlib, json, pathlib, sys
store, target = map(pathlib.Path, sys.argv[1:3])
version, variant, args, server_args = sys.argv[3:]
record = {
    "version": version, "variant": variant, "cmake_args": args, "server_cmake_args": server_args,
    "sdist_sha256": (store / ".sdist.sha256").read_text().strip(), "store": str(store),
    "binary": str(target / "llama-server"),
    "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(target.iterdir())},
}
(target.parent / "llama-server.json").write_text(json.dumps(record, indent=2) + "\n")
print(f"llama-server {version} ({variant}) installed in {target} from {store}")
EOF
