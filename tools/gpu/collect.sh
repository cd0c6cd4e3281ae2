#!/usr/bin/env bash
# usage: bash tools/gpu/collect.sh SECONDS NAME
#   waits up to SECONDS for run NAME (by its process id), then copies its log and everything of
#   its work directory but checkpoints/, tensorboard/ and history.jsonl into $OUT/NAME.tgz.
. tools/gpu/env.sh || exit 1
seconds=$1 name=$2 pid=$(cat /tmp/gpu_runs/$name.pid)
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ] && kill -0 "$pid" 2>/dev/null; do sleep 10; done
kill -0 "$pid" 2>/dev/null && echo "$name: still running" || echo "$name: ended"
grep -v '^[IWE]0000\|^WARNING' /tmp/gpu_runs/$name.log | tail -n 5
cp /tmp/gpu_runs/$name.log "$OUT/"
tar czf "$OUT/$name.tgz" -C /tmp/gpu_runs --exclude=checkpoints --exclude=tensorboard \
  --exclude=history.jsonl "$name"
ls -la "$OUT"
