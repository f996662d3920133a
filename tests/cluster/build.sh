#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd from the Go
# modules pinned in this directory's go.mod, once, into a cache directory
# outside target/ keyed by version. Prints the bin directory on stdout.
#
#   TEST_CLUSTER_CACHE  cache root (default: ${XDG_CACHE_HOME:-~/.cache}/kube-sa-token/cluster)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

kube_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
cache_root=${TEST_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/cluster}
bin="$cache_root/kubernetes-$kube_version-etcd-$etcd_version/bin"

tools=(kube-apiserver kube-controller-manager kubectl etcd)
missing=()
for t in "${tools[@]}"; do
  [ -x "$bin/$t" ] || missing+=("$t")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
minor=${kube_version#v1.}; minor=${minor%%.*}
ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$kube_version \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/client-go/pkg/version.gitVersion=$kube_version \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

# One go build for all of them: their links (one thread each) run beside
# the other packages' compiles. Into a temporary directory and renamed, so
# an interrupted build never leaves a half-written binary that later runs
# would take for a good one.
pkgs=()
for t in "${missing[@]}"; do
  case "$t" in
    etcd) pkgs+=(go.etcd.io/etcd/server/v3) ;;
    *) pkgs+=("k8s.io/kubernetes/cmd/$t") ;;
  esac
done
echo "building ${missing[*]} (kubernetes $kube_version, etcd $etcd_version) ..." >&2
start=$(date +%s)
tmp="$bin/.build.tmp"
rm -rf "$tmp" && mkdir -p "$tmp"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
for t in "${missing[@]}"; do
  # go names a binary after its package's path, without a major version
  # suffix: go.etcd.io/etcd/server/v3 is "server".
  built=$t
  [ "$t" = etcd ] && built=server
  mv -f "$tmp/$built" "$bin/$t"
done
rm -rf "$tmp"
echo "built ${missing[*]} in $(( $(date +%s) - start ))s" >&2
echo "$bin"
