#!/usr/bin/env bash
# Runs the end-to-end tests that use a real Secret Service RUNS times in a row
# (default 30) and counts failures. Every run of every test starts from
# nothing: a brand-new HOME and XDG dirs (TestEnv), a new private session bus
# and a gnome-keyring-daemon that never ran there before
# (tests/integration/support/secret-service.sh). Needs the test cluster (tests/cluster/up.sh)
# and runs the build install.sh makes, like tests/run.sh. See docs/testing.md.
#   tests/keyring-cold-start.sh [RUNS]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
runs=${1:-30}
state=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}
[ -f "$state/env" ] || { echo "no test cluster: run tests/cluster/up.sh first" >&2; exit 1; }
# shellcheck disable=SC1091
. "$state/env"
KUBE_SA_TOKEN_TEST_BIN=$(./install.sh --build-only 2>/dev/null)
export KUBE_SA_TOKEN_TEST_BIN
# Build the test binary once; each run then only executes it.
cargo test --locked --test integration --no-run -q 2>/dev/null

# A failed run's whole output is kept: a one-in-a-hundred failure must be
# readable afterwards.
logs="$repo/target/keyring-cold-start"
rm -rf "$logs"; mkdir -p "$logs"
failures=0
for i in $(seq 1 "$runs"); do
  if out=$(cargo test --locked -q --test integration -- --include-ignored --test-threads=1 e2e::keyring:: 2>&1); then
    echo "run $i/$runs: ok"
  else
    failures=$((failures + 1))
    printf '%s\n' "$out" > "$logs/run-$i.log"
    echo "run $i/$runs: FAILED (whole output: $logs/run-$i.log)"
    echo "$out" | tail -n 40
  fi
done
left=$(pgrep -c -f 'gnome-keyring-daemon' || true)
echo "cold-start keyring runs: $runs, failures: $failures, gnome-keyring-daemon processes left: ${left:-0}"
[ "$failures" -eq 0 ]
