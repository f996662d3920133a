#!/usr/bin/env bash
# Starts a real control plane on loopback for the end-to-end tests:
# etcd + kube-apiserver (RBAC, client-cert admin in system:masters, https
# service-account issuer) + kube-controller-manager (serviceaccount,
# serviceaccount-token, clusterrole-aggregation and CSR signing controllers;
# the cluster CA signs client certificates). Idempotent: a healthy running
# cluster of the same layout is left alone. Writes $TEST_CLUSTER_DIR (default <repo>/target/test-cluster):
#   admin.kubeconfig (context "admin"), env, pids, logs/, pki/
# See docs/testing.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}
mkdir -p "$state"
state=$(cd "$state" && pwd)

# Bump when the flags below change: a running cluster of an older layout is
# restarted instead of reused.
layout=3

log() { echo "up.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

alive() {
  [ -f "$state/pids" ] || return 1
  local pid
  while read -r _ pid; do
    kill -0 "$pid" 2>/dev/null || return 1
  done < "$state/pids"
}

if alive && [ -f "$state/env" ]; then
  unset TEST_CLUSTER_LAYOUT
  # shellcheck disable=SC1091
  . "$state/env"
  if [ "${TEST_CLUSTER_LAYOUT:-1}" = "$layout" ] &&
    "$TEST_CLUSTER_BIN/kubectl" --kubeconfig "$state/admin.kubeconfig" get --raw /readyz >/dev/null 2>&1; then
    log "cluster already running at $TEST_CLUSTER_SERVER ($state)"
    exit 0
  fi
fi
# Something stale: stop what we started before, then start afresh.
"$here/down.sh" >/dev/null 2>&1 || true

bin=$("$here/build.sh")
kube_version=$("$bin/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
log "kubernetes $kube_version, binaries in $bin"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pki="$state/pki"; logs="$state/logs"
rm -rf "$pki" "$logs"; mkdir -p "$pki" "$logs"
chmod 700 "$pki"

# --- PKI: a CA, the serving cert, the admin client cert, the SA signing key.
# Certificates are dated a day back (libfaketime): tests that move a client's
# clock minutes behind must not find the server's certificate "not yet
# valid" because the cluster started a moment ago. The library is preloaded
# directly, never through the `faketime` command: that wrapper names a POSIX
# semaphore in /dev/shm after its own PID and fails ("sem_open: File exists")
# when a wrapper killed earlier left one under a PID now reused.
libfaketime=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1 || true)
if [ -n "$libfaketime" ]; then
  backdated=(env LD_PRELOAD="$libfaketime" FAKETIME=-1d FAKETIME_DONT_FAKE_MONOTONIC=1)
else
  log "libfaketime not found (apt-get install faketime): certificates start now, so clock tests need the cluster to be 5 minutes old"
  backdated=()
fi
openssl_q() { "${backdated[@]}" openssl "$@" >/dev/null 2>&1 || { "${backdated[@]}" openssl "$@"; exit 1; }; }
openssl_q req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 30 \
  -subj "/CN=kube-sa-token-test-ca"
cat > "$pki/serving.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1
EXT
openssl_q req -newkey rsa:2048 -nodes -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" -subj "/CN=kube-apiserver"
openssl_q x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -out "$pki/apiserver.crt" -days 30 -extfile "$pki/serving.ext"
cat > "$pki/client.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EXT
openssl_q req -newkey rsa:2048 -nodes -keyout "$pki/admin.key" -out "$pki/admin.csr" -subj "/O=system:masters/CN=kube-sa-token-admin"
openssl_q x509 -req -in "$pki/admin.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -out "$pki/admin.crt" -days 30 -extfile "$pki/client.ext"
openssl_q genrsa -out "$pki/sa.key" 2048
openssl_q rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"

etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
server="https://127.0.0.1:$api_port"
data_root=/dev/shm; [ -d /dev/shm ] && [ -w /dev/shm ] || data_root=${TMPDIR:-/tmp}
etcd_data=$(mktemp -d "$data_root/kube-sa-token-etcd.XXXXXX")
echo "$etcd_data" > "$state/etcd-data-dir"
: > "$state/pids"

start() { # name, command...
  local name=$1; shift
  setsid "$@" > "$logs/$name.log" 2>&1 < /dev/null &
  echo "$name $!" >> "$state/pids"
}

start etcd "$bin/etcd" --name test --data-dir "$etcd_data" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "test=http://127.0.0.1:$etcd_peer" --unsafe-no-fsync --log-level warn

wait_for() { # what, seconds, command...
  local what=$1 secs=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if ! alive; then
      log "a process exited while waiting for $what; last log lines:"
      tail -n 30 "$logs"/*.log >&2 || true
      die "$what did not start (logs in $logs)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "$what not ready after ${secs}s; last log lines:"
      tail -n 30 "$logs"/*.log >&2 || true
      die "$what did not start (logs in $logs)"
    fi
    sleep 0.5
  done
}
wait_for etcd 60 sh -c "curl -fsS http://127.0.0.1:$etcd_port/health | grep -q '\"health\":\"true\"'"

# An audit log at Metadata level (issue 20): tests find a credential's
# requests by the id `cache list -o wide` prints
# (authentication.kubernetes.io/credential-id).
cat > "$state/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
POLICY
: > "$state/audit.log"

start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --authorization-mode RBAC \
  --service-account-issuer "$server" \
  --service-account-key-file "$pki/sa.pub" \
  --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.0.0.0/24 \
  --endpoint-reconciler-type none \
  --enable-priority-and-fairness=false \
  --disable-admission-plugins ServiceAccount \
  --audit-policy-file "$state/audit-policy.yaml" \
  --audit-log-path "$state/audit.log" --audit-log-maxsize 200 --audit-log-maxbackup 1 \
  --cert-dir "$pki"

cat > "$state/admin.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $server
    certificate-authority: $pki/ca.crt
contexts:
- name: admin
  context:
    cluster: test
    user: admin
current-context: admin
users:
- name: admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
KC
chmod 600 "$state/admin.kubeconfig"
kc=("$bin/kubectl" --kubeconfig "$state/admin.kubeconfig")
wait_for kube-apiserver 180 "${kc[@]}" get --raw /readyz
wait_for "kube-apiserver (first request)" 60 "${kc[@]}" get namespace default

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$state/admin.kubeconfig" \
  --authentication-kubeconfig "$state/admin.kubeconfig" --authorization-kubeconfig "$state/admin.kubeconfig" \
  --leader-elect=false \
  --controllers serviceaccount-token-controller,serviceaccount-controller,clusterrole-aggregation-controller,certificatesigningrequest-signing-controller \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --service-account-private-key-file "$pki/sa.key" \
  --root-ca-file "$pki/ca.crt" \
  --bind-address 127.0.0.1 --secure-port 0

# The serviceaccount controller creates "default" in every namespace.
wait_for "kube-controller-manager (default ServiceAccount)" 120 "${kc[@]}" -n default get serviceaccount default

cat > "$state/env" <<ENV
# Written by tests/cluster/up.sh; source it to talk to the test cluster.
export TEST_CLUSTER_DIR='$state'
export KUBECONFIG='$state/admin.kubeconfig'
export TEST_CLUSTER_SERVER='$server'
export TEST_CLUSTER_BIN='$bin'
export TEST_CLUSTER_VERSION='$kube_version'
export TEST_CLUSTER_LAYOUT='$layout'
ENV
log "cluster ready: kubernetes $kube_version at $server; state in $state"
log "use it: source $state/env && \$TEST_CLUSTER_BIN/kubectl auth whoami"
