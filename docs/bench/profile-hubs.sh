#!/usr/bin/env bash
# Profiles the Hubs server during one bench workload: perf call graphs, a syscall count, dotnet-counters
# (System.Runtime and the Hubs meter) and a dotnet-trace sampled thread-time trace.
#   HUBS_DLL=/path/Hubs.Server.dll docs/bench/profile-hubs.sh OUT TARGET WORKLOAD [args]
#   e.g. docs/bench/profile-hubs.sh /tmp/w8 hubs fanout --window 8 --messages 8000
# PROFILE_TOOLS picks the tools (default "perf counters trace"; also "gcdump", the live heap by type, for idle);
# PROFILE_DELAY the seconds to wait first.
# Then: perf report -i OUT.perf --no-children --sort sym   (needs perf; run as root)
#       dotnet-trace report OUT.nettrace topN --inclusive   (or open it in PerfView / speedscope)
set -uo pipefail
OUT=$1; shift
BENCH="${BENCH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../shared/bench" && pwd)}"
TOOLS="${PROFILE_TOOLS:-perf counters trace}"
: "${HUBS_DLL:?set HUBS_DLL to a published Hubs.Server.dll}"
export PATH="$PATH:$HOME/.dotnet/tools"
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
if [[ $TOOLS == *counters* ]]; then
  timeout 8 dotnet-counters collect -p "$pid" --counters System.Runtime,Hubs --refresh-interval 1 \
    --format csv -o "$OUT.counters.csv" >/dev/null 2>&1
fi
if [[ $TOOLS == *perf* ]]; then
  perf record -F 499 -g -p "$pid" -o "$OUT.perf" -- sleep 6 >/dev/null 2>&1
  perf stat -e 'syscalls:sys_enter_sendto,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex,context-switches' \
    -p "$pid" -- sleep 2 2>&1 | grep -E 'syscalls|context' > "$OUT.syscalls.txt"
fi
if [[ $TOOLS == *gcdump* ]]; then
  dotnet-gcdump collect -p "$pid" -o "$OUT.gcdump" >/dev/null 2>&1
  dotnet-gcdump report "$OUT.gcdump" 2>/dev/null | head -45 > "$OUT.gcdump.txt"
fi
if [[ $TOOLS == *trace* ]]; then
  dotnet-trace collect -p "$pid" --profile dotnet-sampled-thread-time --duration 00:00:00:05 \
    -o "$OUT.nettrace" >/dev/null 2>&1
fi
wait "$run"
grep RESULT "$OUT.run.log"; cat "$OUT.syscalls.txt" "$OUT.gcdump.txt" 2>/dev/null
if [ -f "$OUT.counters.csv" ]; then
  # Median of each counter over the sampled seconds.
  awk -F, 'NR>1 {k=$3; v[k]=v[k]" "$NF} END {for (k in v) print k ":" v[k]}' "$OUT.counters.csv" | sort > "$OUT.counters.txt"
  grep -Ei 'gc|alloc|thread pool|cpu|working|lock|exception|hubs' "$OUT.counters.txt" | head -40
fi
