#!/usr/bin/env bash
# Release archives (issue 19), from one script:
#   tests/release/build.sh [OUT]      (default: target/release-archives)
# makes kube-sa-token-vX.Y.Z-<os>-<arch>.tar.gz (.zip for Windows) for
# linux-amd64, linux-arm64 and windows-amd64, each holding the binary,
# LICENSE, README.md, CHANGELOG.md, THIRD-PARTY-LICENSES.txt (every linked
# crate and its licence text: tests/release/notices.py), shell completions
# (completions/) and man pages (man/), then sha256sums.txt and the krew
# manifest sa-token.yaml (tests/release/krew-manifest.py).
#
# macOS archives are not made here: linking for macOS needs Apple's SDK,
# which no package registry this project may use carries. The macOS code is
# type-checked on every CI run (tests/platforms/macos.sh) and the archives
# are built on macOS runners by .github/workflows/release.yml on a tag.
#
# Why a script and not cargo-dist: the Linux binary must be the static-pie
# musl build install.sh makes and the end-to-end tests run (the archive holds
# that very file), arm64 is cross-linked with Debian's gcc-aarch64-linux-gnu
# and Windows with mingw-w64, and every archive must be checked by running it
# here (qemu-user, Wine: tests/release/check.sh); cargo-dist would need its
# own installer and network access at build time, and runs none of that.
#
# The same binaries packed again give the same archives, byte for byte
# (entries sorted, owner 0, times and gzip headers from the commit's date:
# tests/release/pack.sh).
# Cost on a 2-core machine: the Linux amd64 build is install.sh's (made by
# tests/run.sh before; reused); arm64 and Windows in one cargo run 8m25s
# cold (2026-12-02; one after the other they took 16 min), seconds warm:
# their target dir is under KST_RELEASE_CACHE, outside target/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
out=${1:-$repo/target/release-archives}
cache=${KST_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/release}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# The builds name the commit themselves (build.rs, from git); nothing is
# exported to them that install.sh's build (tests/run.sh) lacks, or cargo
# would rebuild that build here (build scripts rerun on changed variables).
commit=${KUBE_SA_TOKEN_COMMIT:-$(git rev-parse --short=12 HEAD)}
rm -rf "$out" && mkdir -p "$out"
stage=$(mktemp -d) && trap 'rm -rf "$stage"' EXIT

for t in aarch64-unknown-linux-musl x86_64-pc-windows-gnu; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

echo "== linux-amd64: install.sh's static-pie musl build"
linux_amd64=$(./install.sh --build-only)
# ring's C code is compiled freestanding (its RING_CORE_NOSTDLIBINC mode, as
# for macOS): no C library headers at all, rather than glibc's (Debian's
# libc6-dev-arm64-cross) inside a musl binary. Rust's musl target brings
# its own libc and start files; gcc links.
# Both in one cargo run: our crate's fat-LTO build is one thread for minutes
# per target, so two at once keep both cores busy.
echo "== linux-arm64: aarch64-unknown-linux-musl, static (Rust has no static-pie for it)"
echo "== windows-amd64: x86_64-pc-windows-gnu (mingw-w64)"
CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc \
  CFLAGS_aarch64_unknown_linux_musl="-ffreestanding -DRING_CORE_NOSTDLIBINC=1" \
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc \
  CARGO_TARGET_DIR="$cache/target" cargo build --locked --release \
  --target aarch64-unknown-linux-musl --target x86_64-pc-windows-gnu

# Completions and man pages come from the host build (one CLI everywhere).
tests/release/docs.sh "$linux_amd64" "$stage/docs"
tests/release/pack.sh linux amd64 x86_64-unknown-linux-musl "$linux_amd64" "$stage/docs" "$out"
tests/release/pack.sh linux arm64 aarch64-unknown-linux-musl \
  "$cache/target/aarch64-unknown-linux-musl/release/kube-sa-token" "$stage/docs" "$out"
tests/release/pack.sh windows amd64 x86_64-pc-windows-gnu \
  "$cache/target/x86_64-pc-windows-gnu/release/kube-sa-token.exe" "$stage/docs" "$out"

(cd "$out" && sha256sum -- *.tar.gz *.zip >sha256sums.txt)
python3 tests/release/krew-manifest.py "$version" "$out" >"$out/sa-token.yaml"
echo "== release v$version (commit $commit) in $out:"
(cd "$out" && ls -l)
echo "macOS (darwin-amd64, darwin-arm64): not built here (no Apple SDK); see .github/workflows/release.yml"
