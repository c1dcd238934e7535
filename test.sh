#!/usr/bin/env bash
# Runs the whole Hubs test suite on a fresh machine and ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

# Integration tests start their own throwaway redis-server on free loopback ports; install it when missing.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "test.sh: installing redis-server"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server >/dev/null
fi

results="$PWD/TestResults"
rm -rf "$results"

dotnet test Hubs.sln --configuration Release \
  --logger "trx;LogFileName=hubs.trx" --logger "console;verbosity=normal" \
  --results-directory "$results"
status=$?

trx="$results/hubs.trx"
if [ ! -f "$trx" ]; then
  echo "0 passed, 1 failed (no test results: the build or the test host failed)"
  exit 1
fi

counters=$(grep -o '<Counters [^>]*>' "$trx")
count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
passed=$(count passed)
failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
skipped=$(( $(count notExecuted) + $(count inconclusive) ))
echo "${passed} passed, ${failed} failed, ${skipped} skipped"

if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "${passed:-0}" -eq 0 ]; then
  exit 1
fi
