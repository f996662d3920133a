#!/usr/bin/env bash
# Builds kube-sa-token from this checkout and installs it (and the kubectl
# plugin name kubectl-sa_token). Safe to re-run, also while kubectl runs it.
#   PREFIX        install root (default ~/.local; binaries go to $PREFIX/bin)
#   --dynamic     link glibc dynamically (see below)
#   --build-only  build the release binary as installed, print its path,
#                 install nothing (tests/run.sh and the benchmarks use it)
#
# On x86_64 Linux with glibc the binary is a static position-independent
# executable (`-C target-feature=+crt-static`; static-pie keeps address-space
# randomization): kubectl runs it before every command, and loading libc and
# libgcc_s cost a cache hit about 0.35 ms of its 1.5 ms (docs/performance.md).
# The price: a glibc security update reaches it only when it is rebuilt
# (./install.sh again), and host names resolve through /etc/hosts and DNS
# only, as kubectl's own resolver does (docs/security.md). --dynamic builds
# the usual dynamically linked binary instead.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${PREFIX:-$HOME/.local}
mode=install link=static
for arg in "$@"; do
  case "$arg" in
    --dynamic) link=dynamic ;;
    --build-only) mode=build ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found. Install Rust (https://rustup.rs or your package manager), then run ./install.sh again." >&2
  exit 1
fi

host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  x86_64-unknown-linux-gnu) ;;  # verified here; other targets may lack static-pie
  *) link=dynamic ;;  # elsewhere the platform's usual linking
esac

# ELF facts, read from the header without binutils: the type (3 = ET_DYN, a
# position-independent executable; 2 = ET_EXEC, a fixed address) and whether
# a program interpreter (the dynamic loader, PT_INTERP) is requested.
elf_type() { od -An -tu2 -j16 -N2 "$1" | tr -d ' '; }
has_interp() {
  local phoff phentsize phnum i
  phoff=$(od -An -tu8 -j32 -N8 "$1" | tr -d ' ')
  phentsize=$(od -An -tu2 -j54 -N2 "$1" | tr -d ' ')
  phnum=$(od -An -tu2 -j56 -N2 "$1" | tr -d ' ')
  for ((i = 0; i < phnum; i++)); do
    [ "$(od -An -tu4 -j$((phoff + i * phentsize)) -N4 "$1" | tr -d ' ')" = 3 ] && return 0
  done
  return 1
}

cd "$here"
# Where cargo puts it (CARGO_TARGET_DIR or a cargo config may move target/).
target_dir=$(cargo metadata --locked --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
built="${target_dir:-$here/target}/release/kube-sa-token"
if [ "$link" = static ]; then
  # Only the final binary gets crt-static: proc-macro crates cannot.
  if ! cargo rustc --locked --release --bin kube-sa-token -- -C target-feature=+crt-static; then
    echo "install.sh: the static build failed; it needs the C library's static archive (Debian: apt-get install libc6-dev), or run ./install.sh --dynamic" >&2
    exit 1
  fi
  # Refuse a static binary at a fixed address (no ASLR for the program that
  # holds credentials) or one that still wants the dynamic loader.
  if [ "$(elf_type "$built")" != 3 ] || has_interp "$built"; then
    echo "install.sh: the static build of $built is not a static position-independent executable; run ./install.sh --dynamic" >&2
    exit 1
  fi
else
  cargo rustc --locked --release --bin kube-sa-token
fi

if [ "$mode" = build ]; then
  echo "$built"
  exit 0
fi

bin="$prefix/bin"
mkdir -p "$bin"
# Copy, then rename over the old binary: a kubectl running it meanwhile
# keeps the old file, and never sees a half-written one.
tmp=$(mktemp "$bin/.kube-sa-token.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cp "$built" "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$bin/kube-sa-token"
# `kubectl sa-token ...` runs kubectl-sa_token from PATH.
ln -sf kube-sa-token "$bin/kubectl-sa_token"

echo "installed $bin/kube-sa-token ($link) and $bin/kubectl-sa_token ($("$bin/kube-sa-token" --version))"
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "note: $bin is not on your PATH; add it, e.g.: echo 'export PATH=\"$bin:\$PATH\"' >> ~/.bashrc" ;;
esac
echo "next: kube-sa-token setup --admin-context ADMIN_CONTEXT -n NAMESPACE SERVICE_ACCOUNT"
