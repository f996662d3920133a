#!/usr/bin/env bash
# Peer benchmark (a benchmark, never a timed test): kube-sa-token side by side
# with what users would otherwise run, on the test cluster, as ratios.
#  1. a cache hit per store (default = OS keyring behind its kernel copy,
#     keyutils, tmpfs, file) vs spawning `true`, `secret-tool lookup`,
#     gke-gcloud-auth-plugin (token from CLOUDSDK_AUTH_ACCESS_TOKEN, no
#     network) and aws-iam-authenticator (offline presigning, dummy keys);
#  2. the same with keyctl blocked (seccomp, as in containers): the OS keyring
#     alone, and memory-backed files (what `auto` picks there without an OS
#     keyring); and hits with the cache directory read-only (a home whose
#     writes fail, as an NFS home that hangs would make them wait): the
#     bookkeeping goes to the memory-backed directory;
#  3. a cold `get` (empty cache, one TokenRequest) vs `kubectl create token`;
#  4. `kubectl get --raw /version` through the exec entry vs a static token
#     (paired runs, alternating, tests/bench/paired.py);
#  5. refresh-ahead over a simulated 3-hour day (libfaketime, a call every 5
#     simulated minutes, an admin login that takes 1 s), with and without;
#     it runs the dynamically linked build, into which libfaketime can be
#     preloaded (tests/bench/builds.sh).
# Prints a table of mean ± σ and ratios; raw JSON under $OUT
# (target/bench/peers by default).
#   needs: a running test cluster (tests/cluster/up.sh), cargo (the builds:
#   tests/bench/builds.sh), hyperfine, gnome-keyring + dbus + libsecret-tools, keyutils, faketime,
#   python3; optional: gke-gcloud-auth-plugin (google-cloud-cli), go (builds
#   aws-iam-authenticator from the Go module proxy, once, into the tools cache).
#   RUNS=300 tests/bench/peers.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}
# shellcheck disable=SC1091
. "$state/env"
# shellcheck source=tests/bench/builds.sh
. "$repo/tests/bench/builds.sh"
runs=${RUNS:-300}
out=${OUT:-$repo/target/bench/peers}
tools=${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/tools}
aws_version=v0.6.13
for t in hyperfine python3 secret-tool keyctl; do
  command -v "$t" >/dev/null || { echo "$t not found (see the needs: line of $0)" >&2; exit 1; }
done

# aws-iam-authenticator, built from the Go module proxy once.
aws=$tools/aws-iam-authenticator-$aws_version
if [ ! -x "$aws" ] && command -v go >/dev/null; then
  echo "building aws-iam-authenticator $aws_version from the Go module proxy (once)..." >&2
  mkdir -p "$tools"
  GOBIN=$tools/.gobin go install "sigs.k8s.io/aws-iam-authenticator/cmd/aws-iam-authenticator@$aws_version" >&2
  mv "$tools/.gobin/aws-iam-authenticator" "$aws"
fi
gke=$(command -v gke-gcloud-auth-plugin || true)

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
unset DBUS_SESSION_BUS_ADDRESS HTTPS_PROXY https_proxy NO_PROXY no_proxy
export HOME=$work XDG_CACHE_HOME=$work/.cache XDG_DATA_HOME=$work/.local/share XDG_CONFIG_HOME=$work/.config
kubectl=$TEST_CLUSTER_BIN/kubectl
admin_kc=$KUBECONFIG
k=("$kubectl" --kubeconfig "$admin_kc")
ns=peers-$$
"${k[@]}" create namespace "$ns" >/dev/null
"${k[@]}" -n "$ns" create serviceaccount viewer >/dev/null
"${k[@]}" -n "$ns" create rolebinding viewer-view --clusterrole=view --serviceaccount "$ns:viewer" >/dev/null
"${k[@]}" -n "$ns" create serviceaccount minter >/dev/null
"${k[@]}" create clusterrolebinding "$ns-minter" --clusterrole=cluster-admin --serviceaccount "$ns:minter" >/dev/null
cleanup_cluster() {
  "${k[@]}" delete clusterrolebinding "$ns-minter" >/dev/null 2>&1 || true
  "${k[@]}" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
}
trap 'cleanup_cluster; rm -rf "$work"' EXIT

# The user's kubeconfig: the admin context, an exec entry (`setup` writes the
# same), a static-token user, and an admin whose login takes one second (a
# cloud plugin) for the refresh trace.
ca=$TEST_CLUSTER_DIR/pki/ca.crt
static=$("${k[@]}" -n "$ns" create token viewer --duration 6h)
minter=$("${k[@]}" -n "$ns" create token minter --duration 6h)
cat > "$work/login" <<EOF
#!/bin/sh
sleep 1
printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"$minter"}}'
EOF
chmod 700 "$work/login"
kc=$work/kubeconfig
"${k[@]}" config view --raw --minify --context admin > "$kc"
export KUBECONFIG=$kc
get_args=(--admin-context admin --service-account "$ns/viewer")
python3 - "$kc" "$TEST_CLUSTER_SERVER" "$ca" "$bin" "$static" "$work/login" "${get_args[@]}" <<'PY'
import json, sys
kc, server, ca, bin_, static, login, *args = sys.argv[1:]
exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": bin_,
             "args": ["get", *args], "interactiveMode": "Never", "provideClusterInfo": True}}
slow_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": login,
             "interactiveMode": "Never"}}
# kubectl's own cost of running an exec plugin: one that only prints a file.
with open(kc + ".cred.json", "w") as f:
    json.dump({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
               "status": {"token": static}}, f)
cat_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/cat",
            "args": [kc + ".cred.json"], "interactiveMode": "Never", "provideClusterInfo": True}}
extra = {
    "clusters": [{"name": "peers", "cluster": {"server": server, "certificate-authority": ca}}],
    "contexts": [{"name": n, "context": {"cluster": "peers", "user": n}}
                 for n in ("sa", "static", "cat", "slow-admin")],
    "users": [{"name": "sa", "user": exec_user}, {"name": "static", "user": {"token": static}},
              {"name": "cat", "user": cat_user}, {"name": "slow-admin", "user": slow_user}],
}
# kubectl reads JSON kubeconfigs: append ours as a second file in KUBECONFIG.
with open(kc + ".peers.json", "w") as f: json.dump(dict(apiVersion="v1", kind="Config", **extra), f)
PY
export KUBECONFIG=$kc:$kc.peers.json
exec_info="{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"$TEST_CLUSTER_SERVER\",\"certificate-authority-data\":\"$(base64 -w0 < "$ca")\"}}}"
export KUBERNETES_EXEC_INFO=$exec_info
echo "binary: $bin ($(stat -c %s "$bin") bytes), $(nproc) cores, $(uname -r), $runs runs per case" | tee "$out/machine.txt"

# 1 and 2 run on a private Secret Service; 3 to 5 as well (the default store).
export BIN_PATH=$bin BIN_DYNAMIC=$bin_dynamic RUNS=$runs OUT_DIR=$out GKE=$gke AWS=$aws NS=$ns KUBECTL=$kubectl ADMIN_KC=$admin_kc
export NOKEYCTL=$repo/tests/integration/support/no-keyctl.py TRACE=$repo/tests/bench/refresh-trace.py PAIRED=$repo/tests/bench/paired.py
export GET_ARGS="${get_args[*]}"
"$repo/tests/integration/support/secret-service.sh" -- bash -c '
set -euo pipefail
get="$BIN_PATH get $GET_ARGS"
for c in "" "--cache keyutils" "--cache tmpfs" "--cache file"; do $get $c >/dev/null; done   # warm
key=$($BIN_PATH cache list -o json | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"key\"])")   # one entry: the key does not depend on the store
peers=()
if [ -n "$GKE" ]; then
  export CLOUDSDK_AUTH_ACCESS_TOKEN=ya29.peers-benchmark-dummy-token
  peers+=(-n "gke-gcloud-auth-plugin (CLOUDSDK_AUTH_ACCESS_TOKEN)" "$GKE")
fi
if [ -x "$AWS" ]; then
  export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  peers+=(-n "aws-iam-authenticator token -i NAME (offline)" "$AWS token -i peers-benchmark")
fi
echo "== 1. hits vs peers" >&2
hyperfine -N --warmup 30 --runs "$RUNS" --export-json "$OUT_DIR/1-hits.json" \
  -n "true" "true" \
  -n "get hit, default store (OS keyring + kernel copy)" "$get" \
  -n "get hit, keyutils" "$get --cache keyutils" \
  -n "get hit, tmpfs" "$get --cache tmpfs" \
  -n "get hit, file" "$get --cache file" \
  -n "secret-tool lookup (one Secret Service read)" "secret-tool lookup service kube-sa-token username $key" \
  "${peers[@]}" >&2
echo "== 2. keyctl blocked (seccomp): the OS keyring alone" >&2
"$NOKEYCTL" hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$OUT_DIR/2-nokeyctl.json" \
  -n "true" "true" \
  -n "get hit, default store, keyctl blocked (OS keyring alone)" "$get" \
  -n "get hit, tmpfs, keyctl blocked" "$get --cache tmpfs" \
  -n "get hit, file" "$get --cache file" >&2
echo "== 2b. the cache directory read-only (writes fail there)" >&2
unshare -m bash -c "mount --bind \"\$XDG_CACHE_HOME\" \"\$XDG_CACHE_HOME\" && mount -o remount,bind,ro \"\$XDG_CACHE_HOME\" && hyperfine -N --warmup 10 --runs \"\$RUNS\" --export-json \"\$OUT_DIR/2b-readonly.json\" -n true true -n \"get hit, tmpfs, cache dir read-only\" \"$get --cache tmpfs\" -n \"get hit, keyutils, cache dir read-only\" \"$get --cache keyutils\"" >&2
echo "== 3. cold get vs kubectl create token" >&2
hyperfine -N --warmup 3 --runs 30 --export-json "$OUT_DIR/3-cold.json" \
  --prepare "$BIN_PATH cache clear --all" \
  -n "cold get (TokenRequest, stored in the default store)" "$get" \
  -n "kubectl create token" "$KUBECTL --context admin -n $NS create token viewer" >&2
echo "== 4. kubectl through the exec entry vs a static token (paired, alternating)" >&2
python3 "$PAIRED" --runs "$RUNS" --warmup 10 \
  --name-a "kubectl get --raw /version, static token" \
  --name-b "kubectl get --raw /version, exec entry (default store)" \
  -- "$KUBECTL" --context static get --raw /version \
  --- "$KUBECTL" --context sa get --raw /version > "$OUT_DIR/4-kubectl.json"
# How much of that is kubectl running any plugin: one that only prints a file.
python3 "$PAIRED" --runs "$RUNS" --warmup 10 \
  --name-a "kubectl get --raw /version, static token" \
  --name-b "kubectl get --raw /version, exec entry running cat FILE" \
  -- "$KUBECTL" --context static get --raw /version \
  --- "$KUBECTL" --context cat get --raw /version > "$OUT_DIR/4-kubectl-cat.json"
cat "$OUT_DIR"/4-kubectl*.json >&2
echo "== 5. refresh-ahead over a simulated day" >&2
$BIN_PATH cache clear --all >/dev/null
slow="--admin-context slow-admin --service-account $NS/viewer"
python3 "$TRACE" --kubectl "$KUBECTL" --admin-kubeconfig "$ADMIN_KC" --label "with refresh-ahead (the default)" -- $BIN_DYNAMIC get $slow > "$OUT_DIR/5-trace.jsonl"
$BIN_PATH cache clear --all >/dev/null
python3 "$TRACE" --kubectl "$KUBECTL" --admin-kubeconfig "$ADMIN_KC" --label "without (--no-refresh-ahead)" -- $BIN_DYNAMIC get $slow --no-refresh-ahead >> "$OUT_DIR/5-trace.jsonl"
' 2>&1 | grep -v "fd limit"

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name)) as f: return json.load(f)["results"]
def fmt(r): return f"{r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} ms"
print("\n| case | mean ± σ | ratio |\n|---|---|---|")
hits = load("1-hits.json")
base = hits[0]["mean"]; keyutils = next(r for r in hits if r["command"] == "get hit, keyutils")["mean"]
for r in hits:
    extra = f" ({r['mean']/keyutils:.2f}× keyutils)" if r["command"].startswith("get hit, default") else ""
    print(f"| {r['command']} | {fmt(r)} | {r['mean']/base:.2f}× true{extra} |")
peer = [r["mean"] for r in hits if not r["command"].startswith(("true", "get hit", "secret-tool"))]
if peer:
    worst_hit = max(r["mean"] for r in hits if r["command"].startswith("get hit"))
    print(f"| slowest hit / fastest peer plugin | | {worst_hit/min(peer):.2f}× |")
nk = load("2-nokeyctl.json")
for r in nk[1:]:
    print(f"| {r['command']} (run 2) | {fmt(r)} | {r['mean']/nk[0]['mean']:.2f}× true (run 2: {fmt(nk[0])}) |")
ro = load("2b-readonly.json")
for r in ro[1:]:
    print(f"| {r['command']} (run 2b) | {fmt(r)} | {r['mean']/ro[0]['mean']:.2f}× true (run 2b: {fmt(ro[0])}) |")
tmpfs = next(r for r in hits if r["command"] == "get hit, tmpfs")["mean"]
print(f"| tmpfs hit / keyutils hit (run 1) | | {tmpfs/keyutils:.2f}× |")
cold = load("3-cold.json")
print(f"| {cold[0]['command']} | {fmt(cold[0])} | {cold[0]['mean']/cold[1]['mean']:.2f}× kubectl create token |")
print(f"| {cold[1]['command']} | {fmt(cold[1])} | |")
for name in ("4-kubectl.json", "4-kubectl-cat.json"):
    with open(os.path.join(out, name)) as f: kc = json.load(f)
    print(f"| {kc['a']} | {kc['mean_a_ms']:.2f} ms (median {kc['median_a_ms']:.2f}) | {kc['pairs']} alternating pairs |")
    print(f"| {kc['b']} | {kc['mean_b_ms']:.2f} ms (median {kc['median_b_ms']:.2f}) | {kc['ratio_of_means']:.3f}× static token (medians {kc['ratio_of_medians']:.3f}×); +{kc['diff_ms']:.2f} ± {kc['diff_ci95_ms']:.2f} ms per command (95% CI) |")
print("\n| refresh trace | calls | foreground mints after the first | TokenRequests | p50 | p99 | max |\n|---|---|---|---|---|---|---|")
with open(os.path.join(out, "5-trace.jsonl")) as f:
    for line in f:
        t = json.loads(line)
        print(f"| {t['label']}, {t['simulated']} | {t['calls']} | {t['foreground_mints_after_first']} | {t['token_requests']} | {t['p50_ms']} ms | {t['p99_ms']} ms | {t['max_ms']} ms |")
PY
