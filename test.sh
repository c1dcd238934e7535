#!/usr/bin/env bash
# Runs the whole Hubs test suite on a fresh machine and ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

# Integration tests start their own throwaway redis-server on free loopback ports; the TypeScript client's tests
# need node and npm, the browser tests Debian's chromium, the proxy test nginx. Install what is missing (one apt-get
# update at most).
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The TypeScript client (Hubs.Client/typescript): installed from its lock file and built; its tests run in the suite.
rm -rf Hubs.Client/typescript/dist
(cd Hubs.Client/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) \
  || echo "test.sh: the TypeScript client did not build; its tests will fail"

results="$PWD/TestResults"
rm -rf "$results"

# Phase 1, the suite. Every server log line and every token, ticket and message text the tests used go to a ledger.
export HUBS_RUN_LEDGER="$results/run-ledger"
dotnet test Hubs.sln --configuration Release \
  --logger "trx;LogFileName=hubs.trx" --logger "console;verbosity=normal" \
  --results-directory "$results"
status=$?

# Phase 2, T26 over the whole run: no log line of phase 1 holds any of those secrets.
dotnet test Hubs.sln --configuration Release --no-build --filter "TestCategory=WholeRun" \
  --logger "trx;LogFileName=hubs-wholerun.trx" --logger "console;verbosity=normal" \
  --results-directory "$results"
status=$(( status | $? ))

passed=0
failed=0
skipped=0
for trx in "$results/hubs.trx" "$results/hubs-wholerun.trx"; do
  if [ ! -f "$trx" ]; then
    echo "test.sh: no results in $trx (the build or the test host failed)"
    failed=$(( failed + 1 ))
    continue
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$(( passed + $(count passed) ))
  failed=$(( failed + $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
  skipped=$(( skipped + $(count notExecuted) + $(count inconclusive) ))
done
echo "${passed} passed, ${failed} failed, ${skipped} skipped"

if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
