#!/usr/bin/env bash
# Hits and misses through the broker (`get --broker`) beside the same
# calls minting directly through the admin context, with hyperfine, on the
# test cluster. Figures go to docs/performance.md and docs/broker.md;
# nothing here is asserted by a test.
#   needs: hyperfine, a running test cluster (tests/cluster/up.sh), cargo
#   (the installed build: tests/bench/builds.sh). Runs as one user (the
#   broker's own account): the socket round trip is what is measured.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}
# shellcheck disable=SC1091
. "$state/env"
command -v hyperfine >/dev/null || { echo "hyperfine not found: apt-get install hyperfine" >&2; exit 1; }
# shellcheck source=tests/bench/builds.sh
. "$repo/tests/bench/builds.sh"
runs=${RUNS:-200}

work=$(mktemp -d)
shm=$(mktemp -d /dev/shm/kst-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work" "$shm"
}
trap cleanup EXIT
unset DBUS_SESSION_BUS_ADDRESS
export HOME=$work XDG_CACHE_HOME=$work/.cache XDG_RUNTIME_DIR=$shm
k=("$TEST_CLUSTER_BIN/kubectl" --kubeconfig "$KUBECONFIG")
"${k[@]}" create namespace bench --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null
"${k[@]}" -n bench create serviceaccount viewer --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null
cat > "$work/policy.yaml" <<POLICY
version: 1
rateLimit: {burst: 1000000, perMinute: 60000000}
rules:
  - name: bench
    callers: {uids: [$(id -u)]}
    serviceAccounts: [bench/viewer]
POLICY
# Two brokers: one keeps what it minted (the usual), one mints every time.
for store in tmpfs none; do
  mkdir -p "$shm/broker-$store" && chmod 700 "$shm/broker-$store"
  XDG_RUNTIME_DIR=$shm/broker-$store "$bin" serve --kubeconfig "$KUBECONFIG" --admin-context admin \
    --socket "$work/run-$store/broker.sock" --policy "$work/policy.yaml" \
    --audit-log "$work/audit-$store.jsonl" --cache "$store" 2>"$work/serve-$store.log" &
  pids+=($!)
done
for store in tmpfs none; do
  for _ in $(seq 100); do [ -S "$work/run-$store/broker.sock" ] && break; sleep 0.1; done
done

ca_data=$(base64 -w0 < "$state/pki/ca.crt")
export KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"$TEST_CLUSTER_SERVER\",\"certificate-authority-data\":\"$ca_data\"}}}"
direct="$bin get --admin-context admin --service-account bench/viewer"
brokered="$bin get --broker $work/run-tmpfs/broker.sock --service-account bench/viewer"
cold_broker="$bin get --broker $work/run-none/broker.sock --service-account bench/viewer"
$direct --cache tmpfs >/dev/null      # warm both caches
$brokered --cache tmpfs >/dev/null

echo "binary: $bin ($(stat -c %s "$bin") bytes), $(nproc) cores, $runs runs a case"
out=$repo/target/bench/broker
mkdir -p "$out"
hyperfine -N --warmup 20 --min-runs "$runs" --export-json "$out/hits.json" \
  -n 'true (process spawn)' 'true' \
  -n 'hit, direct (--cache tmpfs)' "$direct --cache tmpfs" \
  -n 'hit, through the broker (--cache tmpfs; no socket)' "$brokered --cache tmpfs" \
  "$@"
echo "a hit, direct (A) and through the broker (B), paired (${PAIRS:-1000} alternating pairs):"
# shellcheck disable=SC2086 # the command lines are split into words on purpose
python3 "$repo/tests/bench/paired.py" --runs "${PAIRS:-1000}" --warmup 20 --name-a direct --name-b broker \
  -- $direct --cache tmpfs --- $brokered --cache tmpfs | tee "$out/paired.json"
hyperfine -N --warmup 5 --min-runs "$((runs / 4))" --export-json "$out/misses.json" \
  -n 'miss, direct (--cache none: a TokenRequest each call)' "$direct --cache none" \
  -n "miss on the client, the broker's hit (--cache none)" "$brokered --cache none" \
  -n 'miss on both (a broker with --cache none: a TokenRequest each call)' "$cold_broker --cache none"
echo "figures (ms, mean ± σ; raw JSON in $out):"
python3 - "$out/hits.json" "$out/misses.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        print(f"| {r['command']} | {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} |")
PY
echo "broker audit lines: $(wc -l < "$work/audit-tmpfs.jsonl") (the kept store), $(wc -l < "$work/audit-none.jsonl") (minting every time)"
