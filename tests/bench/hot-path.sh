#!/usr/bin/env bash
# Benchmarks `kube-sa-token get` on a cache hit against spawning a trivial
# process, on the test cluster: hyperfine per store; callgrind instructions
# and page faults per spelling and store; 1,000 alternating pairs against
# `true` per store; a call handed to kube-sa-token-full; kubectl through the
# exec entry against through `cat FILE` (issue 34). Figures go to
# docs/performance.md; nothing here is asserted by a test.
# The installed build (static-pie, musl) and the same code linked
# dynamically (install.sh --dynamic) are measured side by side.
#   needs: hyperfine (apt-get install hyperfine), a running test cluster
#   (tests/cluster/up.sh), and cargo (the builds: tests/bench/builds.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}
# shellcheck disable=SC1091
. "$state/env"
command -v hyperfine >/dev/null || { echo "hyperfine not found: apt-get install hyperfine" >&2; exit 1; }
# shellcheck source=tests/bench/builds.sh
. "$repo/tests/bench/builds.sh"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# No session bus: `--cache auto` falls back to the kernel keyring. The OS
# keyring is measured at the end on a private bus.
unset DBUS_SESSION_BUS_ADDRESS
export HOME=$work XDG_CACHE_HOME=$work/.cache
k=("$TEST_CLUSTER_BIN/kubectl" --kubeconfig "$KUBECONFIG")
"${k[@]}" create namespace bench --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null
"${k[@]}" -n bench create serviceaccount viewer --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null

# With the cluster's CA, as kubectl sends it (provideClusterInfo): the
# cluster binding compares it with the admin context's.
ca_data=$(base64 -w0 < "$state/pki/ca.crt")
export KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"$TEST_CLUSTER_SERVER\",\"certificate-authority-data\":\"$ca_data\"}}}"
args="get --admin-context admin --service-account bench/viewer"
user="get --admin-context admin --user bench-alice --group bench-dev"
for c in file keyutils; do
  "$bin" $args --cache "$c" >/dev/null      # warm the cache
  "$bin" $user --cache "$c" >/dev/null
done

echo "binary: $bin ($(stat -c %s "$bin") bytes; dynamically linked: $(stat -c %s "$bin_dynamic")), $(nproc) cores"
hyperfine -N --warmup 50 --min-runs 500 \
  -n 'true (process spawn)' 'true' \
  -n 'get, cache hit, file' "$bin $args --cache file" \
  -n 'get, cache hit, keyutils' "$bin $args --cache keyutils" \
  -n 'get, cache hit, auto (no session bus: tmpfs, kernel copy in front)' "$bin $args" \
  -n 'get, cache hit, keyutils, dynamically linked' "$bin_dynamic $args --cache keyutils" \
  -n 'get --user, cache hit, file' "$bin $user --cache file" \
  -n 'get --user, cache hit, keyutils' "$bin $user --cache keyutils" \
  "$@"
# Issue 34: instructions (callgrind; stable across machines) and minor page
# faults of a hit, per spelling and store, beside `true`'s. Each run has a
# parent of its own (python), as each kubectl command is: a loop from one
# parent would be taken for client-go re-running the plugin after a 401,
# and ask the server once per 30 s (docs/performance.md).
if command -v valgrind >/dev/null; then
  echo "a hit: instructions (callgrind, min and max of 3) and minor page faults (max of 5)"
  python3 - "$bin" "$repo/tests/bench" <<'PY'
import subprocess, sys
bin = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from hit_cost import cost
def row(name, cmd):
    lo, hi, f = cost(cmd)
    print(f"  {name:<58} {lo:>10,} {hi:>10,} {f:>6}")
print(f"  {'':<58} {'instr min':>10} {'instr max':>10} {'faults':>6}")
row("true", ["true"])
spellings = {
    "setup's entry (--service-account NS/NAME)": ["get", "--admin-context", "admin", "--service-account", "bench/viewer"],
    "typed: -n NS NAME": ["get", "--admin-context", "admin", "-n", "bench", "viewer"],
    "typed: NS/NAME": ["get", "--admin-context", "admin", "bench/viewer"],
}
for name, words in spellings.items():
    for store in ["auto", "keyutils", "tmpfs", "file"]:
        cmd = [bin] + words + ([] if store == "auto" else ["--cache", store])
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)  # warm this entry
        row(f"{name}, {store}", cmd)
PY
fi

# Issue 34: time against `true`, 1,000 alternating pairs a store (each run
# from python, a parent of its own); what a call the front binary hands
# over costs (`--version`: kube-sa-token, which runs kube-sa-token-full,
# against kube-sa-token-full itself); and kubectl through the exec entry
# against kubectl through an entry that runs `cat FILE` (kubectl's own cost
# of any plugin), paired in one run.
paired() { python3 "$repo/tests/bench/paired.py" "$@"; }
echo "a hit against true, 1,000 alternating pairs each (paired.py: B is the hit):"
for store in auto keyutils tmpfs file; do
  c=()
  [ "$store" = auto ] || c=(--cache "$store")
  # shellcheck disable=SC2086
  paired --runs 1000 --warmup 20 --name-a true --name-b "hit, $store" -- true --- $bin $args "${c[@]}"
done
echo "a call the front binary hands over (B) against the full program run directly (A):"
paired --runs 300 --warmup 10 --name-a "kube-sa-token-full --version" --name-b "kube-sa-token --version" \
  -- "$bin-full" --version --- "$bin" --version
kc=$work/paired.kubeconfig
# shellcheck disable=SC2086
"$bin" $args >"$work/credential.json"
cat >"$kc" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: "$TEST_CLUSTER_SERVER", certificate-authority-data: "$ca_data"}
users:
- name: plugin
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: "$bin", args: [get, --kubeconfig, "$KUBECONFIG", --admin-context, admin, --service-account, bench/viewer], provideClusterInfo: true, interactiveMode: Never}
- name: cat
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: cat, args: ["$work/credential.json"], interactiveMode: Never}
contexts:
- {name: plugin, context: {cluster: bench, user: plugin}}
- {name: cat, context: {cluster: bench, user: cat}}
EOF
kubectl=("$TEST_CLUSTER_BIN/kubectl" --kubeconfig "$kc")
echo "kubectl get --raw /version through the exec entry (B) against through an entry running cat FILE (A):"
(
  unset KUBERNETES_EXEC_INFO
  paired --runs 300 --warmup 10 --name-a "kubectl, cat FILE" --name-b "kubectl, kube-sa-token" \
    -- "${kubectl[@]}" --context cat get --raw /version --- "${kubectl[@]}" --context plugin get --raw /version
)

unset KUBERNETES_EXEC_INFO
echo "without provideClusterInfo (reads the kubeconfig), and minting every time:"
hyperfine -N --warmup 10 --min-runs 100 \
  -n 'get, cache hit, file, no cluster info' "$bin $args --cache file" \
  -n 'get, --cache none (TokenRequest each call)' "$bin $args --cache none"

if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  echo "OS keyring (gnome-keyring on a private session bus):"
  export KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"$TEST_CLUSTER_SERVER\",\"certificate-authority-data\":\"$ca_data\"}}}"
  export XDG_DATA_HOME=$work/.local/share BIN_PATH=$bin ARGS=$args
  # The helper starts gnome-keyring and waits until its login collection is
  # unlocked on the bus before the first client call.
  "$repo/tests/integration/support/secret-service.sh" -- sh -c '
    $BIN_PATH $ARGS --cache keyring >/dev/null
    hyperfine -N --warmup 5 --min-runs 100 -n "get, cache hit, keyring (served from its kernel copy)" "$BIN_PATH $ARGS --cache keyring"
  ' 2>&1 | grep -v "fd limit"
fi
