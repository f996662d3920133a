#!/usr/bin/env bash
# Installs kube-sa-token (and the kubectl plugin name kubectl-sa_token) with
# cargo, from this checkout. Safe to re-run.
#   PREFIX   install root (default ~/.local; binaries go to $PREFIX/bin)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${PREFIX:-$HOME/.local}

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found. Install Rust (https://rustup.rs or your package manager), then run ./install.sh again." >&2
  exit 1
fi

cargo install --locked --path "$here" --root "$prefix" --force
bin="$prefix/bin"
# `kubectl sa-token ...` runs kubectl-sa_token from PATH.
ln -sf kube-sa-token "$bin/kubectl-sa_token"

echo "installed $bin/kube-sa-token and $bin/kubectl-sa_token ($("$bin/kube-sa-token" --version))"
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "note: $bin is not on your PATH; add it, e.g.: echo 'export PATH=\"$bin:\$PATH\"' >> ~/.bashrc" ;;
esac
echo "next: kube-sa-token setup --admin-context ADMIN_CONTEXT -n NAMESPACE SERVICE_ACCOUNT"
