#!/usr/bin/env bash
# make run: start a dev agent, run examples/hello.hcl, show what happened, stop the agent.
set -euo pipefail
cd "$(dirname "$0")/.."
orch=bin/orch
data=$(mktemp -d)
log="$data/agent.log"
export ORCH_ADDR=${ORCH_ADDR:-http://127.0.0.1:4646}

"$orch" agent -dev -data-dir "$data/state" >"$log" 2>&1 &
agent=$!
stop() { kill -TERM "$agent" 2>/dev/null && wait "$agent" || true; }
trap stop EXIT

echo "==> dev agent started (pid $agent, log $log)"
for _ in $(seq 1 100); do
  curl -fsS "$ORCH_ADDR/v1/agent/health" >/dev/null 2>&1 && break
  kill -0 "$agent" 2>/dev/null || { echo "agent exited:"; cat "$log"; exit 1; }
  sleep 0.1
done

set -x
"$orch" job run examples/hello.hcl
set +x
for _ in $(seq 1 100); do # until the batch task has finished and the client said so
  "$orch" job status hello | grep -q '^Status *= dead' && break
  sleep 0.1
done
set -x
"$orch" job status hello
"$orch" node status
set +x
alloc=$(curl -fsS "$ORCH_ADDR/v1/job/hello/allocations" | sed -n 's/.*"ID":"\([^"]*\)".*/\1/p' | head -1)
if [ -n "$alloc" ]; then
  (set -x; "$orch" alloc status "${alloc:0:8}")
  echo "==> task output:"
  cat "$data"/state/client/allocs/"$alloc"/alloc/logs/*.stdout.0 2>/dev/null || true
fi
echo "==> stopping the dev agent"
