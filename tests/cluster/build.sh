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

for t in "${missing[@]}"; do
  case "$t" in
    etcd) pkg=go.etcd.io/etcd/server/v3 ;;
    *) pkg=k8s.io/kubernetes/cmd/$t ;;
  esac
  echo "building $t ($pkg, kubernetes $kube_version, etcd $etcd_version) ..." >&2
  start=$(date +%s)
  # Build into a temporary name and rename, so an interrupted build never
  # leaves a half-written binary that later runs would take for a good one.
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/.$t.tmp" "$pkg"
  mv -f "$bin/.$t.tmp" "$bin/$t"
  echo "built $t in $(( $(date +%s) - start ))s" >&2
done
echo "$bin"
