#!/usr/bin/env bash
# Builds kube-sa-token from this checkout and installs it (and the kubectl
# plugin name kubectl-sa_token), with shell completions and man pages under
# $PREFIX/share where bash, fish and man look. Safe to re-run, also while
# kubectl runs it.
#   --prefix DIR  install root (default ~/.local; binaries go to DIR/bin);
#                 also PREFIX=DIR. For every account: --prefix /usr/local
#   --dynamic     link the system's C library dynamically (see below)
#   --build-only  build the release binaries as installed, print the path of
#                 kube-sa-token (kube-sa-token-full is beside it), install
#                 nothing (tests/run.sh and the benchmarks use it)
#
# Two binaries: kube-sa-token, what kubectl runs, serves cached credentials
# itself and runs kube-sa-token-full, installed beside it, for everything
# else (a small binary starts in a fraction of the time: docs/performance.md).
#
# On Linux the binary is a static position-independent executable linked
# against musl (Rust's <arch>-unknown-linux-musl target; static-pie keeps
# address-space randomization): kubectl runs it before every command, and
# loading a shared C library costs a cache hit about a fifth of its time
# (docs/performance.md). musl never loads NSS modules, so no nsswitch.conf can
# make it crash; host names resolve through /etc/hosts and DNS, as kubectl's
# own resolver does (docs/security.md#static-linking). It needs the rustup
# target (added here when rustup is there) and musl-gcc for ring's C code
# (Debian/Ubuntu: apt-get install musl-tools); without them, or with
# --dynamic, the usual dynamically linked build is installed, and says so.
# (glibc is never linked statically: its NSS modules crash such a binary.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${PREFIX:-$HOME/.local}
mode=install link=static
while [ $# -gt 0 ]; do
  case "$1" in
    --dynamic) link=dynamic ;;
    --build-only) mode=build ;;
    --prefix=*) prefix=${1#--prefix=} ;;
    --prefix)
      [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory (--prefix DIR)" >&2; exit 2; }
      prefix=$2; shift ;;
    # The comment block at the top of this file, without its '#'.
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$prefix" ] || { echo "install.sh: the install root is empty (--prefix DIR)" >&2; exit 2; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found. Install Rust (https://rustup.rs or your package manager), then run ./install.sh again." >&2
  exit 1
fi

host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-unknown-linux-gnu) musl="${host%-gnu}-musl" ;;
  # Elsewhere the platform's usual linking (on a musl system such as Alpine
  # that is its own musl, which loads no NSS modules either).
  *) link=dynamic ;;
esac
note=""
if [ "$link" = static ]; then
  # What the static musl build needs; without it, the dynamic build.
  if ! rustc --print sysroot >/dev/null 2>&1 ||
    ! [ -d "$(rustc --print sysroot)/lib/rustlib/$musl" ]; then
    if command -v rustup >/dev/null 2>&1; then
      rustup target add "$musl" >&2 || true
    fi
  fi
  arch=${musl%%-*}
  if ! [ -d "$(rustc --print sysroot)/lib/rustlib/$musl" ]; then
    link=dynamic note="the Rust target $musl is not installed (rustup target add $musl)"
  elif ! command -v musl-gcc >/dev/null 2>&1 && ! command -v "$arch-linux-musl-gcc" >/dev/null 2>&1; then
    link=dynamic note="no C compiler for musl was found (Debian/Ubuntu: apt-get install musl-tools)"
  fi
fi

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
[ "$mode" = build ] || echo "install.sh: building the release binary ($link); the first build takes 6 to 15 minutes on 2 cores, later ones seconds" >&2
# Where cargo puts it (CARGO_TARGET_DIR or a cargo config may move target/).
target_dir=$(cargo metadata --locked --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-$here/target}
if [ "$link" = static ]; then
  built="$target_dir/$musl/release/kube-sa-token"
  if ! cargo build --locked --release --target "$musl" --bin kube-sa-token --bin kube-sa-token-full; then
    echo "install.sh: the static musl build failed (see above); run ./install.sh --dynamic for the usual linking" >&2
    exit 1
  fi
  # Refuse a static binary at a fixed address (no ASLR for the program that
  # holds credentials) or one that wants a dynamic loader after all.
  for b in "$built" "$built-full"; do
    if [ "$(elf_type "$b")" != 3 ] || has_interp "$b"; then
      echo "install.sh: the musl build of $b is not a static position-independent executable; run ./install.sh --dynamic" >&2
      exit 1
    fi
  done
else
  built="$target_dir/release/kube-sa-token"
  cargo build --locked --release --bin kube-sa-token --bin kube-sa-token-full
  [ -z "$note" ] || echo "install.sh: a dynamically linked build, as $note; that costs a cache hit about 0.3 ms (docs/performance.md)" >&2
fi

if [ "$mode" = build ]; then
  echo "$built"
  exit 0
fi

bin="$prefix/bin"
mkdir -p "$bin"
# Copy, then rename over the old binary: a kubectl running it meanwhile
# keeps the old file, and never sees a half-written one. The full program
# first: the new kube-sa-token runs it (and an old one runs nothing else).
tmp=""
trap 'rm -f "$tmp"' EXIT
for name in kube-sa-token-full kube-sa-token; do
  tmp=$(mktemp "$bin/.kube-sa-token.XXXXXX")
  cp "$built${name#kube-sa-token}" "$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$bin/$name"
done
# `kubectl sa-token ...` runs kubectl-sa_token from PATH, and kubectl 1.26+
# completes `kubectl sa-token <TAB>` with kubectl_complete-sa_token.
ln -sf kube-sa-token "$bin/kubectl-sa_token"
ln -sf kube-sa-token "$bin/kubectl_complete-sa_token"

# Completions and man pages where the shells and man find them: bash-completion
# and fish read <data dir>/..., man-db maps $PREFIX/bin on PATH to
# $PREFIX/share/man. zsh reads only its fpath: say where the file is.
share="$prefix/share"
mkdir -p "$share/bash-completion/completions" "$share/fish/vendor_completions.d" \
  "$share/zsh/site-functions" "$share/man/man1"
"$bin/kube-sa-token" completions bash >"$share/bash-completion/completions/kube-sa-token"
"$bin/kube-sa-token" completions fish >"$share/fish/vendor_completions.d/kube-sa-token.fish"
"$bin/kube-sa-token" completions zsh >"$share/zsh/site-functions/_kube-sa-token"
"$bin/kube-sa-token" man --dir "$share/man/man1"
# The guides the man pages point at (docs/broker.md for serve, ...).
mkdir -p "$share/doc/kube-sa-token"
cp "$here/README.md" "$here"/docs/*.md "$share/doc/kube-sa-token/"

echo "installed $bin/kube-sa-token with kube-sa-token-full ($link) and $bin/kubectl-sa_token ($("$bin/kube-sa-token" --version))"
echo "installed completions for bash and fish, man pages (man kube-sa-token) and the guides (doc/kube-sa-token), under $share; zsh: add $share/zsh/site-functions to fpath"
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "note: $bin is not on your PATH; add it, e.g.: echo 'export PATH=\"$bin:\$PATH\"' >> ~/.bashrc" ;;
esac
echo "next: kube-sa-token setup --admin-context ADMIN_CONTEXT -n NAMESPACE SERVICE_ACCOUNT"
