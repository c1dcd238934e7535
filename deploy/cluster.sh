#!/usr/bin/env bash
# A local Hubs cluster on this machine: a throwaway redis-server and three nodes sharing one dev signing key.
#   deploy/cluster.sh start    build (unless HUBS_SERVER_DLL is given), start everything, print the node URLs
#   deploy/cluster.sh stop     stop everything this script started
# Settings (environment): HUBS_CLUSTER_DIR (state, logs, pids; default ./.cluster), HUBS_BASE_PORT (first node's
# port; default 5101), HUBS_REDIS_PORT (default 6390), HUBS_NODES (default 3), HUBS_SERVER_DLL (a built Hubs.Server.dll).
# Everything listens on 127.0.0.1 only.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${HUBS_CLUSTER_DIR:-$root/.cluster}"
base_port="${HUBS_BASE_PORT:-5101}"
redis_port="${HUBS_REDIS_PORT:-6390}"
nodes="${HUBS_NODES:-3}"

wait_for() { # url, what
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "cluster: $2 did not become ready; see $dir" >&2
  return 1
}

start() {
  command -v redis-server >/dev/null || { echo "cluster: redis-server is not installed (apt-get install -y redis-server)" >&2; exit 1; }
  if [ -e "$dir/redis.pid" ]; then echo "cluster: already running in $dir (stop it first)" >&2; exit 1; fi
  mkdir -p "$dir"

  dll="${HUBS_SERVER_DLL:-}"
  if [ -z "$dll" ]; then
    dotnet build "$root/Hubs.Server/Hubs.Server.csproj" -c Release -o "$dir/bin" -v quiet -nologo >/dev/null
    dll="$dir/bin/Hubs.Server.dll"
  fi

  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --daemonize no >"$dir/redis.log" 2>&1 &
  echo $! >"$dir/redis.pid"
  for _ in $(seq 1 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done

  # One key for all nodes, so a token from any node's /dev/token works on every node.
  key="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
  for i in $(seq 1 "$nodes"); do
    port=$((base_port + i - 1))
    ASPNETCORE_ENVIRONMENT=Development \
    Auth__SigningKey="$key" \
    Redis__Configuration="127.0.0.1:$redis_port" \
      dotnet "$dll" --urls "http://127.0.0.1:$port" >"$dir/node$i.log" 2>&1 &
    echo $! >"$dir/node$i.pid"
  done

  for i in $(seq 1 "$nodes"); do
    wait_for "http://127.0.0.1:$((base_port + i - 1))/healthz/ready" "node $i"
    echo "http://127.0.0.1:$((base_port + i - 1))"
  done
}

stop() {
  [ -d "$dir" ] || return 0
  for pidfile in "$dir"/node*.pid "$dir"/redis.pid; do
    [ -e "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    # SIGTERM: a node drains its connections (Hubs__Drain__PeriodSeconds, 10 s by default) and exits by itself.
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
