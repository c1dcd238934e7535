#!/usr/bin/env bash
# Profiles the Hubs server during one bench workload: perf call graphs and a syscall count.
#   HUBS_DLL=/path/Hubs.Server.dll docs/bench/profile-hubs.sh OUT TARGET WORKLOAD [args]
#   e.g. docs/bench/profile-hubs.sh /tmp/w8 hubs fanout --window 8 --messages 8000
# Then: perf report -i OUT.perf --no-children --sort sym   (needs perf; run as root)
set -uo pipefail
OUT=$1; shift
BENCH="${BENCH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../shared/bench" && pwd)}"
: "${HUBS_DLL:?set HUBS_DLL to a published Hubs.Server.dll}"
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
export Hubs__Limits__MessagesPerSecondPerUserPerRoom=10000 Hubs__Limits__InvocationsPerSecondPerConnection=100000 \
       Hubs__Limits__ConnectsPerMinutePerAddress=1000000 Hubs__Limits__MaxConnectionsPerNode=100000 \
       Hubs__Limits__DefaultMaxMembers=100000
"$BENCH/run.sh" "$@" --tag profile > "$OUT.run.log" 2>&1 &
run=$!
pid=
for _ in $(seq 1 100); do pid=$(pgrep -f "$(basename "$HUBS_DLL")" | head -1); [ -n "$pid" ] && break; sleep 0.2; done
[ -n "$pid" ] || { echo "the server did not start" >&2; wait "$run"; exit 1; }
sleep "${PROFILE_DELAY:-12}"   # past connect and tier-up
perf record -F 499 -g -p "$pid" -o "$OUT.perf" -- sleep 8 >/dev/null 2>&1
perf stat -e 'syscalls:sys_enter_sendto,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex,context-switches' \
  -p "$pid" -- sleep 3 2>&1 | grep -E 'syscalls|context' > "$OUT.syscalls.txt"
wait "$run"
grep RESULT "$OUT.run.log"; cat "$OUT.syscalls.txt"
