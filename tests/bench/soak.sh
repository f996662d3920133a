#!/usr/bin/env bash
# Soak run (a benchmark, not a timed test): on the test cluster,
#  1. 200 concurrent kubectl calls through the exec entry on a cold cache:
#     counts failures and the TokenRequests the API server answered (want 0, 1);
#  2. 2,000 sequential `get` cache hits per store (file, keyutils, keyring on a
#     private Secret Service): counts errors (want 0) and reports the wall time.
# Figures go to docs/performance.md.
#   needs: a running test cluster (tests/cluster/up.sh) and cargo (the
#   installed build: tests/bench/builds.sh).
#   CALLS=200 HITS=2000 tests/bench/soak.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}
# shellcheck disable=SC1091
. "$state/env"
# shellcheck source=tests/bench/builds.sh
. "$repo/tests/bench/builds.sh"
calls=${CALLS:-200}
hits=${HITS:-2000}

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
unset DBUS_SESSION_BUS_ADDRESS HTTPS_PROXY https_proxy NO_PROXY no_proxy
export HOME=$work XDG_CACHE_HOME=$work/.cache XDG_DATA_HOME=$work/.local/share
k=("$TEST_CLUSTER_BIN/kubectl" --kubeconfig "$KUBECONFIG")
ns=soak-$$
"${k[@]}" create namespace "$ns" >/dev/null
"${k[@]}" -n "$ns" create serviceaccount viewer >/dev/null
"${k[@]}" -n "$ns" create rolebinding viewer-view --clusterrole=view --serviceaccount "$ns:viewer" >/dev/null

token_requests() {
  "${k[@]}" get --raw /metrics | awk '/^apiserver_request_total\{/ && /resource="serviceaccounts"/ && /subresource="token"/ && /verb="POST"/ {s += $NF} END {print s + 0}'
}
# The metric is recorded as the answer is written: read until two reads agree.
settled() {
  local a b; a=$(token_requests)
  while :; do sleep 0.3; b=$(token_requests); [ "$a" = "$b" ] && { echo "$b"; return; }; a=$b; done
}

# 1. Concurrent kubectl on a cold cache.
# Context "sa" in a file of its own, merged with the admin kubeconfig.
kc=$work/kubeconfig
cat > "$kc" <<KC
apiVersion: v1
kind: Config
contexts:
- name: sa
  context: {cluster: test, user: sa}
users:
- name: sa
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $bin
      args: [get, --kubeconfig, $KUBECONFIG, --admin-context, admin, --service-account, $ns/viewer, --cache, file]
      interactiveMode: Never
      provideClusterInfo: true
KC
before=$(settled)
start=$(date +%s%N)
for i in $(seq 1 "$calls"); do
  ( KUBECONFIG="$kc:$KUBECONFIG" "$TEST_CLUSTER_BIN/kubectl" --context sa -n "$ns" get serviceaccounts -o name >/dev/null 2>"$work/err.$i" \
      || echo "$i" >> "$work/failed" ) &
done
wait
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(settled)
failed=$( [ -f "$work/failed" ] && wc -l < "$work/failed" || echo 0)
echo "concurrent: $calls kubectl calls on a cold cache in ${elapsed_ms} ms: $failed failed, $((after - before)) TokenRequest(s)"
if [ "$failed" != 0 ]; then head -n 5 "$work"/err.* >&2; fi

# 2. Sequential hits per store.
export KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"$TEST_CLUSTER_SERVER\",\"certificate-authority-data\":\"$(base64 -w0 < "$TEST_CLUSTER_DIR/pki/ca.crt")\"}}}"
args=(get --kubeconfig "$KUBECONFIG" --admin-context admin --service-account "$ns/viewer")
run_hits() { # store
  "$bin" "${args[@]}" --cache "$1" >/dev/null
  local errors=0 s e
  s=$(date +%s%N)
  for _ in $(seq 1 "$hits"); do
    "$bin" "${args[@]}" --cache "$1" >/dev/null 2>&1 || errors=$((errors + 1))
  done
  e=$(date +%s%N)
  echo "hits, $1: $hits sequential gets, $errors errors, $(( (e - s) / hits / 1000 )) µs each (wall, including the loop)"
}
run_hits file
run_hits keyutils
export BIN_PATH=$bin HITS=$hits
"$repo/tests/integration/support/secret-service.sh" -- bash -c "$(declare -f run_hits); args=(${args[*]@Q}); bin=\$BIN_PATH; hits=\$HITS; run_hits keyring" 2>&1 | grep -v "fd limit"
"${k[@]}" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
