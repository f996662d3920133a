#!/usr/bin/env bash
# The platforms this Linux machine cannot be: Windows (clippy, unit tests
# and the binary under Wine) and macOS (clippy, type-checked only). Called
# by .ci/run before the README's test command; run it by hand the same way.
# Adds the rustup targets it needs; the Debian packages (mingw-w64, wine,
# clang) come from .ci/run. Cost on a 2-core machine: about 6 minutes on a
# brand-new one (2026-12-02: Windows 226 s, macOS 119 s), under a minute warm.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
targets=(x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
start=$SECONDS
"$here/windows.sh"
echo "== windows: $((SECONDS - start)) s"
start=$SECONDS
"$here/macos.sh"
echo "== macos: $((SECONDS - start)) s"
