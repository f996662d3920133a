#!/usr/bin/env bash
# Runs the release archives of tests/release/build.sh against the running
# test cluster (issue 19); .ci/run calls it after the test command, with the
# cluster kept up. For each archive: the sums; `--version` (the release's
# version and commit), `--help`, `inspect` of a token on stdin, and `get`
# for a ServiceAccount with `--cache file`, whose token the API server then
# names as that ServiceAccount — linux-amd64 natively, linux-arm64 under
# qemu-user, windows-amd64 under Wine (also with `--cache keyring`: Wine's
# Credential Manager). Then krew (built from the Go module proxy) installs
# the plugin from the manifest and archive into a throw-away KREW_ROOT,
# `kubectl sa-token setup` writes a context, kubectl works as the
# ServiceAccount, and still does after an upgrade to a bumped manifest
# version (uninstall + install: krew deletes the old versioned directory)
# without setup being run again. Last, `cargo install --locked --path .`
# into a scratch root, and `get` with the installed binary.
#   tests/release/check.sh [OUT]     (default: target/release-archives)
# Needs: the test cluster (tests/cluster/up.sh), qemu-user, wine, Go.
# Cost on a 2-core machine: about 1 minute, plus krew's build (15 s) and
# `cargo install` (4 min cold, seconds warm: its target dir is cached).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
out=${1:-$repo/target/release-archives}
cache=${KST_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/release}
# shellcheck disable=SC1091
. "${TEST_CLUSTER_DIR:-$repo/target/test-cluster}/env"
kubectl="$TEST_CLUSTER_BIN/kubectl"
admin_kc=$KUBECONFIG
ca="$TEST_CLUSTER_DIR/pki/ca.crt"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
commit=${KUBE_SA_TOKEN_COMMIT:-$(git rev-parse --short=12 HEAD)}
work=$(mktemp -d) && trap 'wineserver -k 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "release check: $*" >&2; exit 1; }

echo "== sums"
(cd "$out" && sha256sum -c --quiet sha256sums.txt)

ns=release-smoke sa=smoke
"$kubectl" get ns "$ns" >/dev/null 2>&1 || "$kubectl" create ns "$ns" >/dev/null
"$kubectl" -n "$ns" get sa "$sa" >/dev/null 2>&1 || "$kubectl" -n "$ns" create sa "$sa" >/dev/null
token_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"])'; }
# Who the API server says a token is.
whoami_with() {
  "$kubectl" --kubeconfig=/dev/null --server="$TEST_CLUSTER_SERVER" --certificate-authority="$ca" \
    --token="$1" auth whoami -o jsonpath='{.status.userInfo.username}'
}
smoke_token=$(python3 tests/platforms/token.py)

smoke() { # NAME RUNNER... -- runs the binary of archive NAME through RUNNER
  local name=$1; shift
  local dir="$work/$name" exe=kube-sa-token
  mkdir -p "$dir"
  case "$name" in
    *windows*) exe=kube-sa-token.exe; python3 -m zipfile -e "$out/kube-sa-token-v$version-$name.zip" "$dir" ;;
    *) tar -xzf "$out/kube-sa-token-v$version-$name.tar.gz" -C "$dir" ;;
  esac
  for f in LICENSE README.md CHANGELOG.md THIRD-PARTY-LICENSES.txt completions/kube-sa-token.bash \
    completions/_kube-sa-token completions/kube-sa-token.fish man/kube-sa-token.1 man/kube-sa-token-get.1; do
    [ -s "$dir/$f" ] || fail "$name: $f missing from the archive"
  done
  local v
  v=$("$@" "$dir/$exe" --version | tr -d '\r')
  [ "$v" = "kube-sa-token $version (commit $commit)" ] || fail "$name --version: $v"
  "$@" "$dir/$exe" --help | grep -q "Usage: kube-sa-token" || fail "$name --help"
  printf '%s' "$smoke_token" | "$@" "$dir/$exe" inspect - | tr -d '\r' |
    grep -q "system:serviceaccount:team:viewer" || fail "$name inspect"
  local cache_choice
  for cache_choice in "${stores[@]}"; do
    local t who
    t=$(HOME="$work/home-$name" "$@" "$dir/$exe" get --kubeconfig "$admin_kc" --admin-context admin \
      "$ns/$sa" --cache "$cache_choice" | tr -d '\r' | token_of)
    who=$(whoami_with "$t")
    [ "$who" = "system:serviceaccount:$ns:$sa" ] || fail "$name get --cache $cache_choice: the server says $who"
    echo "$name: --version, --help, inspect, get --cache $cache_choice as $who"
  done
}

stores=(file)
echo "== linux-amd64"
smoke linux-amd64 env
echo "== linux-arm64 under $(qemu-aarch64 --version | head -1)"
smoke linux-arm64 qemu-aarch64
echo "== windows-amd64 under $(wine --version)"
export WINEPREFIX="$work/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wine wineboot --init >/dev/null 2>&1 || true
wineserver -w
x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  tests/platforms/bcryptprimitives.c -ladvapi32
stores=(file keyring)
smoke windows-amd64 wine

echo "== krew"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/tools/bin"
[ -x "$tools/krew" ] && [ -x "$tools/validate-krew-manifest" ] ||
  GOBIN="$tools" go install sigs.k8s.io/krew/cmd/krew@v0.4.3 sigs.k8s.io/krew/cmd/validate-krew-manifest@v0.4.3
"$tools/validate-krew-manifest" -manifest "$out/sa-token.yaml" -skip-install
( # A user of krew: own HOME, KREW_ROOT and PATH.
export KREW_ROOT="$work/krew" HOME="$work/user"
mkdir -p "$HOME/.kube"
cp "$admin_kc" "$HOME/.kube/config"
export KUBECONFIG="$HOME/.kube/config"
export PATH="$KREW_ROOT/bin:$TEST_CLUSTER_BIN:/usr/bin:/bin"
"$tools/krew" install --no-update-index --manifest="$out/sa-token.yaml" --archive="$out/kube-sa-token-v$version-linux-amd64.tar.gz" 2>&1 | tail -3
[ "$(kubectl sa-token --version)" = "kube-sa-token $version (commit $commit)" ] || fail "kubectl sa-token --version"
kubectl sa-token setup "$ns/$sa" --cache file >/dev/null
context="$ns/$sa@test"
cmd=$(kubectl config view -o jsonpath="{.users[?(@.name==\"$context\")].user.exec.command}")
[ "$cmd" = kubectl-sa_token ] || fail "setup under krew wrote command: $cmd (not krew's kubectl-sa_token)"
who=$(kubectl --context "$context" auth whoami -o jsonpath='{.status.userInfo.username}')
[ "$who" = "system:serviceaccount:$ns:$sa" ] || fail "kubectl as the SA under krew: $who"
kubectl sa-token doctor >/dev/null 2>&1 || true
old_store="$KREW_ROOT/store/sa-token/v$version"
[ -d "$old_store" ] || fail "krew's store has no $old_store"
# A bumped version: the same files under the next patch version.
next=$(python3 -c "v='$version'.split('.'); v[2]=str(int(v[2])+1); print('.'.join(v))")
bumped="$work/bumped"
mkdir -p "$bumped"
cp "$out/kube-sa-token-v$version-linux-amd64.tar.gz" "$bumped/kube-sa-token-v$next-linux-amd64.tar.gz"
(cd "$bumped" && sha256sum -- *.tar.gz >sha256sums.txt)
python3 tests/release/krew-manifest.py "$next" "$bumped" >"$bumped/sa-token.yaml"
"$tools/krew" uninstall sa-token >/dev/null
"$tools/krew" install --no-update-index --manifest="$bumped/sa-token.yaml" --archive="$bumped/kube-sa-token-v$next-linux-amd64.tar.gz" >/dev/null 2>&1
[ ! -e "$old_store" ] && [ -d "$KREW_ROOT/store/sa-token/v$next" ] || fail "krew did not replace the versioned directory"
kubectl sa-token cache clear --all >/dev/null
who=$(kubectl --context "$context" auth whoami -o jsonpath='{.status.userInfo.username}')
[ "$who" = "system:serviceaccount:$ns:$sa" ] || fail "kubectl as the SA after the krew upgrade: $who"
echo "krew: installed v$version, kubectl as $who; upgraded to v$next (v$version's directory gone), same context works without setup"
)

echo "== cargo install --locked --path ."
root="$work/cargo-root"
CARGO_TARGET_DIR="$cache/cargo-install-target" cargo install --quiet --locked --path "$repo" --root "$root"
t=$("$root/bin/kube-sa-token" get --kubeconfig "$admin_kc" --admin-context admin "$ns/$sa" --cache file | token_of)
who=$(whoami_with "$t")
[ "$who" = "system:serviceaccount:$ns:$sa" ] || fail "cargo-installed get: $who"
echo "cargo install: get as $who"
