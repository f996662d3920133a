#!/usr/bin/env bash
# Windows, checked on Linux (.ci/run calls it; issue 21):
#  1. `cargo clippy --all-targets -D warnings` for x86_64-pc-windows-gnu;
#  2. the unit tests built for Windows and run under Wine: among them the
#     real Credential Manager round trip of src/cache/keyring_windows.rs
#     (Wine implements CredWriteW/CredReadW/CredEnumerateW in advapi32);
#  3. the binary under Wine: --version, --help, and `inspect` of a token
#     read from stdin.
# Needs: rustup target x86_64-pc-windows-gnu, gcc-mingw-w64-x86-64 (the
# linker), wine + wine64 (Debian 12: Wine 8.0). Builds go to a directory
# outside target/ (KST_PLATFORMS_CACHE), so a warm machine rebuilds little.
# Cost on a 2-core machine: 226 s on a brand-new machine (2026-12-02), 40 s warm.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
cache=${KST_PLATFORMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/platforms}
target=x86_64-pc-windows-gnu
export CARGO_TARGET_DIR="$cache/target"

# A throw-away Wine prefix, with the ProcessPrng that Wine 8 lacks and
# Rust's std needs (tests/platforms/bcryptprimitives.c). Wine's first start
# (a minute on a brand-new machine, mostly waiting on the disk) runs while
# clippy keeps the cores busy.
export WINEPREFIX="$cache/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
rm -rf "$WINEPREFIX" && mkdir -p "$cache"
(wine wineboot --init >/dev/null 2>&1 || true; wineserver -w) &
wineboot=$!

echo "== clippy for $target (all targets)"
cargo clippy --locked --target "$target" --all-targets -- -D warnings
wait "$wineboot"
x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  tests/platforms/bcryptprimitives.c -ladvapi32
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine

echo "== unit tests for $target, under $(wine --version 2>/dev/null)"
cargo test --locked --target "$target" --lib

echo "== the Windows binary under Wine"
cargo build --locked --target "$target"
exe="$CARGO_TARGET_DIR/$target/debug/kube-sa-token.exe"
run() { wine "$exe" "$@"; }
version=$(run --version | tr -d '\r')
[[ $version == "kube-sa-token $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"* ]] ||
  { echo "unexpected --version: $version"; exit 1; }
help=$(run --help) || { echo "--help failed"; exit 1; }
grep -q "Usage: kube-sa-token" <<<"$help" || { echo "--help says no usage"; exit 1; }
# A token as the API server mints one, decoded without a cluster.
token=$(python3 tests/platforms/token.py)
out=$(printf '%s' "$token" | run inspect - | tr -d '\r')
grep -q "system:serviceaccount:team:viewer" <<<"$out" || { echo "inspect: $out"; exit 1; }
if grep -qF "${token##*.}" <<<"$out"; then echo "inspect printed the token's signature"; exit 1; fi
wineserver -k || true
echo "windows: clippy, $(grep -c '' <<<"$out") lines of inspect, unit tests and smoke runs passed"
