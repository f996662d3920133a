#!/usr/bin/env bash
# Runs the release archives of tests/release/build.sh against the running
# test cluster (issue 19); .ci/run calls it after the test command, with the
# cluster kept up. For each archive: the sums; `--version` (the release's
# version and commit), `--help`, `inspect` of a token on stdin, and `get`
# for a ServiceAccount with `--cache file`, whose token the API server then
# names as that ServiceAccount — linux-amd64 natively, linux-arm64 under
# qemu-user, windows-amd64 under Wine (also with `--cache keyring`: Wine's
# Credential Manager). Then krew (built from the Go module proxy), for a
# user with a throw-away KREW_ROOT: its manifest validator accepts
# sa-token.yaml; `krew install sa-token` from a plugin index (a local git
# repository) whose manifest points at the archives served on loopback;
# `kubectl sa-token setup` writes a context, kubectl works as the
# ServiceAccount; doctor flags an entry with krew's versioned path; the
# index gets the next version, `krew update` + `krew upgrade` delete the old
# versioned directory, and the same context still works without setup.
# Last, `cargo install --locked --path .` into a scratch root (for the musl
# target: it reuses install.sh's build), and `get` with the installed binary.
#   tests/release/check.sh [OUT]     (default: target/release-archives)
# Needs: the test cluster (tests/cluster/up.sh), qemu-user, wine, Go, git.
# Cost on a 2-core machine: about 1 minute (Wine's first start is most of
# it), plus krew's build where .ci/run has not cached it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
out=${1:-$repo/target/release-archives}
# shellcheck disable=SC1091
. "${TEST_CLUSTER_DIR:-$repo/target/test-cluster}/env"
kubectl="$TEST_CLUSTER_BIN/kubectl"
admin_kc=$KUBECONFIG
ca="$TEST_CLUSTER_DIR/pki/ca.crt"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
commit=${KUBE_SA_TOKEN_COMMIT:-$(git rev-parse --short=12 HEAD)}
# Not under /tmp: setup and doctor refuse a binary there (another user
# could put their own at the path once it is cleaned up), and krew users
# keep KREW_ROOT in their home.
mkdir -p "${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token"
work=$(mktemp -d "${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/release-check.XXXXXX") && trap 'wineserver -k 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "release check: $*" >&2; exit 1; }

echo "== sums"
(cd "$out" && sha256sum -c --quiet sha256sums.txt)

ns=release-smoke sa=smoke
"$kubectl" get ns "$ns" >/dev/null 2>&1 || "$kubectl" create ns "$ns" >/dev/null
"$kubectl" -n "$ns" get sa "$sa" >/dev/null 2>&1 || "$kubectl" -n "$ns" create sa "$sa" >/dev/null
token_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"])'; }
# As kubectl runs an entry with provideClusterInfo (what setup writes): the
# cluster comes with the call, and a hit needs no kubeconfig.
exec_info="{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"$TEST_CLUSTER_SERVER\",\"certificate-authority-data\":\"$(base64 -w0 <"$ca")\"}}}"
# Who the API server says a token is.
whoami_with() {
  "$kubectl" --kubeconfig=/dev/null --server="$TEST_CLUSTER_SERVER" --certificate-authority="$ca" \
    --token="$1" auth whoami -o jsonpath='{.status.userInfo.username}'
}
smoke_token=$(python3 tests/platforms/token.py)

smoke() { # NAME RUNNER... -- runs the binaries of archive NAME through RUNNER
  local name=$1; shift
  local dir="$work/$name" suffix=""
  mkdir -p "$dir"
  case "$name" in
    *windows*) suffix=.exe; python3 -m zipfile -e "$out/kube-sa-token-v$version-$name.zip" "$dir" ;;
    *) tar -xzf "$out/kube-sa-token-v$version-$name.tar.gz" -C "$dir" ;;
  esac
  # kube-sa-token runs kube-sa-token-full for anything but a cache hit. A
  # process under qemu-user cannot start another foreign binary (that needs
  # binfmt_misc, which this check leaves alone): there the commands run the
  # full program directly, and the front binary serves the hit.
  local front="$dir/kube-sa-token$suffix" exe="$dir/kube-sa-token$suffix"
  [ "$1" != qemu-aarch64 ] || exe="$dir/kube-sa-token-full$suffix"
  for f in "kube-sa-token$suffix" "kube-sa-token-full$suffix" LICENSE README.md CHANGELOG.md THIRD-PARTY-LICENSES.txt kube-sa-token.cdx.json completions/kube-sa-token.bash \
    completions/_kube-sa-token completions/kube-sa-token.fish man/kube-sa-token.1 man/kube-sa-token-get.1; do
    [ -s "$dir/$f" ] || fail "$name: $f missing from the archive"
  done
  local target sbom
  case "$name" in
    linux-amd64) target=x86_64-unknown-linux-musl ;;
    linux-arm64) target=aarch64-unknown-linux-musl ;;
    windows-amd64) target=x86_64-pc-windows-gnu ;;
  esac
  sbom=$(python3 tests/release/sbom-check.py "$dir/kube-sa-token.cdx.json" "$target") || fail "$name: its SBOM"
  echo "$name: SBOM: $sbom"
  local v
  v=$("$@" "$exe" --version | tr -d '\r')
  [ "$v" = "kube-sa-token $version (commit $commit)" ] || fail "$name --version: $v"
  # Outputs captured before grep: `cmd | grep -q` under pipefail fails
  # when grep leaves before cmd has written everything (SIGPIPE).
  local out
  out=$("$@" "$exe" --help) || fail "$name --help failed"
  grep -q "Usage: kube-sa-token" <<<"$out" || fail "$name --help"
  out=$(printf '%s' "$smoke_token" | "$@" "$exe" inspect - | tr -d '\r') || fail "$name inspect failed"
  grep -q "system:serviceaccount:team:viewer" <<<"$out" || fail "$name inspect"
  local cache_choice
  for cache_choice in "${stores[@]}"; do
    local t who hit
    t=$(KUBERNETES_EXEC_INFO=$exec_info HOME="$work/home-$name" "$@" "$exe" get --kubeconfig "$admin_kc" --admin-context admin \
      "$ns/$sa" --cache "$cache_choice" | tr -d '\r' | token_of)
    who=$(whoami_with "$t")
    [ "$who" = "system:serviceaccount:$ns:$sa" ] || fail "$name get --cache $cache_choice: the server says $who"
    hit=$(KUBERNETES_EXEC_INFO=$exec_info HOME="$work/home-$name" "$@" "$front" get --kubeconfig "$admin_kc" --admin-context admin \
      "$ns/$sa" --cache "$cache_choice" | tr -d '\r' | token_of)
    [ "$hit" = "$t" ] || fail "$name get --cache $cache_choice: the second call did not serve the cached token"
    echo "$name: --version, --help, inspect, get --cache $cache_choice as $who, then served from the cache"
  done
}

stores=(file)
echo "== linux-amd64"
smoke linux-amd64 env
echo "== linux-arm64 under $(qemu-aarch64 --version | head -1)"
smoke linux-arm64 qemu-aarch64
echo "== windows-amd64 under $(wine --version 2>/dev/null)"
export WINEPREFIX="$work/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wine wineboot --init >/dev/null 2>&1 || true
wineserver -w
x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  tests/platforms/bcryptprimitives.c -ladvapi32
stores=(file keyring)
smoke windows-amd64 wine

echo "== krew"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/tools/bin"
if ! [ -x "$tools/krew" ] || ! [ -x "$tools/validate-krew-manifest" ]; then
  GOBIN="$tools" go install sigs.k8s.io/krew/cmd/krew@v0.4.3 sigs.k8s.io/krew/cmd/validate-krew-manifest@v0.4.3
fi
"$tools/validate-krew-manifest" -manifest "$out/sa-token.yaml" -skip-install 2>&1 | tail -1
( # A user of krew: own HOME, KREW_ROOT and PATH. The plugin index is a local
# git repository (KREW_DEFAULT_INDEX_URI) and the archives are served on
# loopback, so that krew's own install, update and upgrade run as they do
# against krew-index and GitHub's release downloads.
export KREW_ROOT="$work/krew" HOME="$work/user"
mkdir -p "$HOME/.kube"
cp "$admin_kc" "$HOME/.kube/config"
export KUBECONFIG="$HOME/.kube/config"
export PATH="$KREW_ROOT/bin:$TEST_CLUSTER_BIN:/usr/bin:/bin"
krew() { "$tools/krew" "$@"; }
dl="$work/downloads" index="$work/krew-index"
next=$(python3 -c "v='$version'.split('.'); v[2]=str(int(v[2])+1); print('.'.join(v))")
mkdir -p "$dl/v$version" "$dl/v$next" "$index/plugins"
cp "$out"/*.tar.gz "$out"/*.zip "$out/sha256sums.txt" "$dl/v$version/"
# The next version: the same files under the next patch version's names.
for f in "$out"/*.tar.gz "$out"/*.zip; do
  b=$(basename "$f")
  cp "$f" "$dl/v$next/${b/v$version/v$next}"
done
(cd "$dl/v$next" && sha256sum -- *.tar.gz *.zip >sha256sums.txt)
python3 -c '
import functools, http.server, os, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
' "$dl" "$work/port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the download server did not start"
base="http://127.0.0.1:$(cat "$work/port")"
publish() { # VERSION: the index's manifest for VERSION, committed
  python3 tests/release/krew-manifest.py "$1" "$dl/v$1" "$base/v$1" >"$index/plugins/sa-token.yaml"
  git -C "$index" add plugins/sa-token.yaml
  git -C "$index" -c user.name=release-check -c user.email=check@localhost commit -qm "sa-token v$1"
}
git init -q "$index"
publish "$version"
export KREW_DEFAULT_INDEX_URI="$index"
said=$(krew install sa-token 2>&1) || fail "krew install sa-token: $said"
[ "$(kubectl sa-token --version)" = "kube-sa-token $version (commit $commit)" ] || fail "kubectl sa-token --version"
kubectl sa-token setup "$ns/$sa" --cache file >/dev/null 2>"$work/setup.err" || fail "setup: $(cat "$work/setup.err")"
context="$ns/$sa@test"
cmd=$(kubectl config view -o jsonpath="{.users[?(@.name==\"$context\")].user.exec.command}")
[ "$cmd" = kubectl-sa_token ] || fail "setup under krew wrote command: $cmd (not krew's kubectl-sa_token)"
who=$(kubectl --context "$context" auth whoami -o jsonpath='{.status.userInfo.username}')
[ "$who" = "system:serviceaccount:$ns:$sa" ] || fail "kubectl as the SA under krew: $who"
old_store="$KREW_ROOT/store/sa-token/v$version"
for f in kube-sa-token kube-sa-token-full; do
  [ -x "$old_store/$f" ] || fail "krew's store has no $old_store/$f"
done
# doctor flags an entry an older release wrote with the versioned path,
# and not the one setup wrote.
kubectl config set-credentials stale --exec-api-version=client.authentication.k8s.io/v1 \
  --exec-command="$old_store/kube-sa-token" --exec-arg=get >/dev/null
kubectl config set-context stale --cluster=test --user=stale >/dev/null
report=$(kubectl sa-token doctor 2>&1 || true)
flagged=$(grep -F "$old_store/kube-sa-token" <<<"$report" || true)
grep -q "which the next upgrade removes" <<<"$flagged" ||
  fail "doctor did not flag the versioned path: $report"
flagged=$(grep -F '"kubectl-sa_token"' <<<"$report" || true)
! grep -q "upgrade removes" <<<"$flagged" || fail "doctor flagged kubectl-sa_token"
kubectl config delete-context stale >/dev/null && kubectl config delete-user stale >/dev/null
# The upgrade: the index gets the next version, krew update and upgrade.
publish "$next"
said=$(krew update 2>&1) || fail "krew update: $said"
said=$(krew upgrade sa-token 2>&1) || fail "krew upgrade sa-token: $said"
grep -qF "Upgraded plugin: sa-token" <<<"$said" || fail "krew upgrade did not upgrade: $said"
if [ -e "$old_store" ]; then fail "krew upgrade left $old_store"; fi
[ -x "$KREW_ROOT/store/sa-token/v$next/kube-sa-token" ] || fail "krew upgrade did not install v$next"
kubectl sa-token cache clear --all >/dev/null
who=$(kubectl --context "$context" auth whoami -o jsonpath='{.status.userInfo.username}')
[ "$who" = "system:serviceaccount:$ns:$sa" ] || fail "kubectl as the SA after the krew upgrade: $who"
echo "krew: installed v$version from a local index, kubectl as $who; upgraded to v$next (v$version's directory gone), the same context works without setup"
)

# For the target install.sh builds (x86_64-unknown-linux-musl, where that is
# the host's), so that cargo reuses that build from the workspace's target
# dir: the host's own target would add a release build of 10 minutes to a
# cold run, for code the unit and fast integration tests already run there.
host=$(rustc -vV | sed -n 's/^host: //p')
echo "== cargo install --locked --path . --target ${host%-gnu}-musl"
root="$work/cargo-root"
cargo install --quiet --locked --path "$repo" --target "${host%-gnu}-musl" --root "$root"
t=$("$root/bin/kube-sa-token" get --kubeconfig "$admin_kc" --admin-context admin "$ns/$sa" --cache file | token_of)
who=$(whoami_with "$t")
[ "$who" = "system:serviceaccount:$ns:$sa" ] || fail "cargo-installed get: $who"
echo "cargo install: get as $who"
