#!/usr/bin/env bash
# usage: bash tools/gpu/train.sh SECONDS NAME SCRIPT [ARGS...]
#   starts `python3 SCRIPT ARGS --workdir=/tmp/gpu_runs/NAME` detached (it keeps running after
#   this call), then waits up to SECONDS for it and copies its small files under $OUT.
. tools/gpu/env.sh || exit 1
seconds=$1 name=$2 script=$3; shift 3
setsid nohup python3 "$script" "$@" --workdir=/tmp/gpu_runs/$name \
  > /tmp/gpu_runs/$name.log 2>&1 < /dev/null &
echo $! > /tmp/gpu_runs/$name.pid
bash tools/gpu/collect.sh "$seconds" "$name"
