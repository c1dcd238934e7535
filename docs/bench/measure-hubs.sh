#!/usr/bin/env bash
# The peer matrix of ../shared/bench with Hubs in it, ROUNDS interleaved rounds, tagged TAG.
#   HUBS_DLL=/path/to/publish/Hubs.Server.dll docs/bench/measure-hubs.sh [rounds] [tag] [bench dir]
# Hubs' own limits are raised within their validated ranges (the harness's defaults exceed them).
set -uo pipefail
ROUNDS="${1:-3}"; TAG="${2:-hubs-$(date +%Y%m%dT%H%M)}"; BENCH="${3:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../shared/bench" && pwd)}"
: "${HUBS_DLL:?set HUBS_DLL to a published Hubs.Server.dll}"
export Hubs__Limits__MessagesPerSecondPerUserPerRoom=10000 Hubs__Limits__InvocationsPerSecondPerConnection=100000 \
       Hubs__Limits__ConnectsPerMinutePerAddress=1000000 Hubs__Limits__MaxConnectionsPerNode=100000 \
       Hubs__Limits__DefaultMaxMembers=100000
ALL=(signalr-bare signalr-bare-redis socketio socketio-redis hubs-noredis hubs)
REDIS=(signalr-bare-redis socketio-redis hubs)
LOG="$BENCH/results/$TAG.log"; mkdir -p "$BENCH/results"
run() { echo "+ run.sh $*" >>"$LOG"; timeout 200 "$BENCH/run.sh" "$@" --tag "$TAG" 2>&1 | tee -a "$LOG" | grep -E '^RESULT|rror' | head -3; }
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r ($TAG)"
  for t in "${ALL[@]}"; do run "$t" fanout; done
  for t in "${ALL[@]}"; do run "$t" fanout --window 8; done
  for t in "${REDIS[@]}"; do run "$t" fanout-2node; run "$t" fanout-2node --window 8; run "$t" fanout-2node --rate 100; done
  for t in "${ALL[@]}"; do run "$t" echo; done
  for t in "${ALL[@]}"; do run "$t" connect-join; done
  for t in "${ALL[@]}"; do run "$t" idle; done
done
node "$BENCH/summarize.js" "$TAG"
