#!/usr/bin/env bash
# macOS, as far as Linux allows (.ci/run calls it; issue 21): `cargo clippy
# --all-targets -D warnings` for aarch64-apple-darwin and x86_64-apple-darwin
# type-checks all our code for macOS, the Keychain items
# (src/cache/keyring_macos.rs, security-framework) included. Nothing is
# linked or run: Apple's SDK and a macOS are not available here.
# ring's C code is compiled by clang for the target with no system headers
# (ring's own RING_CORE_NOSTDLIBINC mode, freestanding) and one SDK header written here
# (tests/platforms/macos-include/TargetConditionals.h).
# Needs: rustup targets aarch64-apple-darwin, x86_64-apple-darwin; clang.
# Cost on a 2-core machine: 119 s on a brand-new machine (2026-12-02), seconds warm.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
cache=${KST_PLATFORMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/platforms}
export CARGO_TARGET_DIR="$cache/target"
targets=(aarch64-apple-darwin x86_64-apple-darwin)
args=()
for target in "${targets[@]}"; do
  var=${target//-/_}
  export "CC_$var=clang"
  export "CFLAGS_$var=-ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -isystem $repo/tests/platforms/macos-include"
  args+=(--target "$target")
done
# One cargo run for both: their crates are checked side by side.
echo "== clippy for ${targets[*]} (all targets; type-checked, not linked)"
cargo clippy --locked "${args[@]}" --all-targets -- -D warnings
