#!/usr/bin/env bash
# usage: bash tools/gpu/benchmark.sh [CASES]   (default: every case; stops itself after 540 s)
. tools/gpu/env.sh || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
timeout 540 python3 -m paper_gans.benchmark ${1:+--cases=$1} --repeats=3 \
  --out="$OUT/benchmark_gpu.json" --markdown="$OUT/benchmark_gpu.md" 2>&1 | grep '^\[benchmark\]\|^|'
