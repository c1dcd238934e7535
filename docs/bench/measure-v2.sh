#!/usr/bin/env bash
# The sitting of docs/benchmarks.md's "fifth sitting": per-connection cost, large rooms and the reconnect storm, beside
# bare SignalR (with and without Redis), ROUNDS interleaved rounds, tagged TAG; the storm's JSON lands next to the log.
#   HUBS_DLL=/path/to/publish/Hubs.Server.dll docs/bench/measure-v2.sh [rounds] [tag] [bench dir]
# Hubs' own limits are raised within their validated ranges (the harness's defaults exceed them).
set -uo pipefail
ROUNDS="${1:-3}"; TAG="${2:-v2-$(date +%Y%m%dT%H%M)}"; BENCH="${3:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../shared/bench" && pwd)}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${HUBS_DLL:?set HUBS_DLL to a published Hubs.Server.dll}"
export Hubs__Limits__MessagesPerSecondPerUserPerRoom=10000 Hubs__Limits__InvocationsPerSecondPerConnection=100000 \
       Hubs__Limits__ConnectsPerMinutePerAddress=1000000 Hubs__Limits__MaxConnectionsPerNode=100000 \
       Hubs__Limits__DefaultMaxMembers=100000
LOG="$BENCH/results/$TAG.log"; mkdir -p "$BENCH/results"
run() { echo "+ run.sh $*" >>"$LOG"; timeout 300 "$BENCH/run.sh" "$@" --tag "$TAG" 2>&1 | tee -a "$LOG" | grep -E '^RESULT|rror' | head -3; }
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r ($TAG)"
  for t in signalr-bare signalr-bare-redis hubs-noredis hubs; do run "$t" idle; done
  for t in signalr-bare-redis hubs; do run "$t" connect-join; done
  for t in signalr-bare-redis hubs; do run "$t" connect-join --room-size 0; done
  run hubs connect-join --room-size 0 --conns 10000
  for t in signalr-bare-redis hubs; do run "$t" fanout --clients 2000 --window 8; done
  for t in signalr-bare hubs-noredis; do run "$t" echo; done
  for t in signalr-bare hubs-noredis; do run "$t" fanout --window 8; done
  echo "+ storm-hubs.sh 5000 (round $r)" >>"$LOG"
  timeout 400 "$HERE/storm-hubs.sh" 5000 "$BENCH/results/$TAG.storm$r.json" 2>&1 | tee -a "$LOG" | grep -E '^(back|received|errors|server|duration)' 
done
node "$BENCH/summarize.js" "$TAG"
