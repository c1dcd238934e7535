#!/usr/bin/env bash
# Runs the whole Hubs test suite on a fresh machine and ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

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
