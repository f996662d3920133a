#!/usr/bin/env bash
# Stops exactly the processes tests/cluster/up.sh started (from its pids file)
# and removes the etcd data directory. Safe to run when nothing is running.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${TEST_CLUSTER_DIR:-$repo/target/test-cluster}

if [ -f "$state/pids" ]; then
  # Reverse order: controller-manager, apiserver, then etcd.
  tac "$state/pids" | while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      echo "down.sh: stopped $name ($pid)" >&2
    fi
  done
  rm -f "$state/pids"
fi
if [ -f "$state/etcd-data-dir" ]; then
  d=$(cat "$state/etcd-data-dir")
  case "$d" in
    */kube-sa-token-etcd.*) rm -rf "$d" ;;
  esac
  rm -f "$state/etcd-data-dir"
fi
rm -f "$state/env"
