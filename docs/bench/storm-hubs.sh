#!/usr/bin/env bash
# The reconnect storm of docs/benchmarks.md: Redis and two Hubs nodes on loopback, K clients in rooms of 100 on node A,
# A killed (SIGKILL; DRAIN=1: SIGTERM, a graceful drain), then hubs-load times until every client is back on B with
# its room rejoined and its room's message received, with B's CPU. Everything it starts it stops.
#   HUBS_DLL=/path/Hubs.Server.dll docs/bench/storm-hubs.sh [clients] [json out]
set -uo pipefail
K="${1:-5000}"; JSON="${2:-/tmp/storm-$K.json}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${HUBS_DLL:?set HUBS_DLL to a published Hubs.Server.dll}"
[[ -d $HUBS_DLL ]] && HUBS_DLL="$HUBS_DLL/Hubs.Server.dll"
KEY=storm-signing-key-0123456789abcdef0123456789
export Auth__SigningKey=$KEY Auth__Issuer=hubs-storm Auth__Audience=hubs-storm ASPNETCORE_ENVIRONMENT=Production \
       Logging__LogLevel__Default=Warning \
       Hubs__Limits__MessagesPerSecondPerUserPerRoom=10000 Hubs__Limits__InvocationsPerSecondPerConnection=100000 \
       Hubs__Limits__ConnectsPerMinutePerAddress=1000000 Hubs__Limits__MaxConnectionsPerNode=100000 \
       Hubs__Limits__DefaultMaxMembers=100000
ulimit -n 65536 2>/dev/null || true
RPORT=$((6500 + RANDOM % 100)); PA=$((5300 + RANDOM % 50)); PB=$((PA + 50))
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
trap cleanup EXIT
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null & pids+=($!)
export Redis__Configuration="127.0.0.1:$RPORT"
ASPNETCORE_URLS="http://127.0.0.1:$PA" dotnet "$HUBS_DLL" >/tmp/storm-a.log 2>&1 & A=$!; pids+=($A)
ASPNETCORE_URLS="http://127.0.0.1:$PB" dotnet "$HUBS_DLL" >/tmp/storm-b.log 2>&1 & B=$!; pids+=($B)
for p in $PA $PB; do
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$p/healthz/ready" >/dev/null && break; sleep 0.2; done
done
dotnet run -c Release --project "$ROOT/Hubs.LoadTest" -- storm \
  --url "http://127.0.0.1:$PA/hubs/rooms,http://127.0.0.1:$PB/hubs/rooms" --signing-key "$KEY" --issuer hubs-storm --audience hubs-storm \
  --connections "$K" --room-size 100 --victim-pid "$A" --server-pid "$B" ${DRAIN:+--drain} --duration 90 --json "$JSON"
