#!/usr/bin/env bash
# Issue 35: a cache hit of a `--source vault` entry against one of a
# TokenRequest entry, on the test cluster and a real OpenBao dev server:
# callgrind instructions and minor page faults (each run from a parent of
# its own), then 1,000 alternating pairs (paired.py). Figures go to
# docs/performance.md; nothing here is asserted by a test.
#   needs: valgrind, a running test cluster (tests/cluster/up.sh), the
#   OpenBao server (tests/vault/openbao.sh; KUBE_SA_TOKEN_TEST_BAO or the
#   cache), cargo (tests/bench/builds.sh; BIN=path skips the build).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}
# shellcheck disable=SC1091
. "$state/env"
BIN_DYNAMIC=${BIN_DYNAMIC:-/bin/true}   # not measured here
# shellcheck source=tests/bench/builds.sh
. "$repo/tests/bench/builds.sh"
bao=${KUBE_SA_TOKEN_TEST_BAO:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/openbao-2.7.2/bao}
[ -x "$bao" ] || { echo "no OpenBao at $bao: run tests/vault/openbao.sh PIP first" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bao" server -dev -dev-no-store-token -dev-root-token-id=bench -dev-listen-address="127.0.0.1:$port" >"$work/bao.log" 2>&1 &
bao_pid=$!
trap 'kill $bao_pid; rm -rf "$work"' EXIT
export BAO_ADDR=http://127.0.0.1:$port BAO_TOKEN=bench
for _ in $(seq 100); do "$bao" status >/dev/null 2>&1 && break; sleep 0.1; done

unset DBUS_SESSION_BUS_ADDRESS
export HOME=$work XDG_CACHE_HOME=$work/.cache
k=("$TEST_CLUSTER_BIN/kubectl" --kubeconfig "$KUBECONFIG")
"${k[@]}" create namespace bench --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null
"${k[@]}" -n bench create serviceaccount viewer --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null
"${k[@]}" -n bench create serviceaccount engine --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null
"${k[@]}" -n bench create role bench-engine --verb=create --resource=serviceaccounts/token --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null
"${k[@]}" -n bench create rolebinding bench-engine --role=bench-engine --serviceaccount=bench:engine --dry-run=client -o yaml | "${k[@]}" apply -f - >/dev/null
"$bao" secrets enable kubernetes >/dev/null
"$bao" write kubernetes/config kubernetes_host="$TEST_CLUSTER_SERVER" kubernetes_ca_cert=@"$state/pki/ca.crt" \
  service_account_jwt="$("${k[@]}" -n bench create token engine --duration 2h)" >/dev/null
"$bao" write kubernetes/roles/bench allowed_kubernetes_namespaces=bench service_account_name=viewer token_default_ttl=1h >/dev/null

ca_data=$(base64 -w0 < "$state/pki/ca.crt")
export KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"$TEST_CLUSTER_SERVER\",\"certificate-authority-data\":\"$ca_data\"}}}"
export VAULT_TOKEN=bench
echo "binary: $bin ($(stat -c %s "$bin") bytes), $(nproc) cores"
python3 - "$bin" "$BAO_ADDR" "$repo/tests/bench" <<'PY'
import subprocess, sys
bin, addr, bench = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, bench)
from hit_cost import cost
paired = bench + "/paired.py"
entries = {
    "TokenRequest": ["get", "--admin-context", "admin", "--service-account", "bench/viewer"],
    "Vault": ["get", "--service-account", "bench/viewer", "--source", "vault", "--vault-role", "bench", "--vault-addr", addr],
}
print(f"  {'a hit':<40} {'store':<9} {'instr min':>10} {'instr max':>10} {'faults':>6}")
for store in ["auto", "keyutils", "tmpfs", "file"]:
    for name, words in entries.items():
        cmd = [bin] + words + ([] if store == "auto" else ["--cache", store])
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)  # warm this entry
        lo, hi, f = cost(cmd)
        print(f"  {name:<40} {store:<9} {lo:>10,} {hi:>10,} {f:>6}")
print("time, 1,000 alternating pairs (auto): A TokenRequest's hit, B Vault's")
subprocess.run([sys.executable, paired, "--runs", "1000", "--warmup", "20", "--name-a", "TokenRequest hit",
                "--name-b", "Vault hit", "--", bin] + entries["TokenRequest"] + ["---", bin] + entries["Vault"], check=True)
PY
