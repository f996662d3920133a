#!/usr/bin/env bash
# One release archive: tests/release/pack.sh OS ARCH RUST_TARGET BINARY DOCS OUT
# packs BINARY, and the full program beside it (kube-sa-token-full: BINARY
# runs it for everything but a cache hit), with what DOCS holds (LICENSE, README.md, CHANGELOG.md,
# completions/, man/), THIRD-PARTY-LICENSES.txt and the CycloneDX software
# bill of materials kube-sa-token.cdx.json for RUST_TARGET into
# OUT/kube-sa-token-vVERSION-OS-ARCH.tar.gz (.zip for windows). Entries
# sorted, owner 0, times from SOURCE_DATE_EPOCH (else the commit's date):
# the same inputs give the same bytes. Used by build.sh, and by the release
# workflow's macOS jobs (.github/workflows/release.yml).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
os=$1 arch=$2 rust_target=$3 binary=$4 docs=$5 out=$6
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct)}
name="kube-sa-token-v$version-$os-$arch" suffix=""
[ "$os" = windows ] && suffix=.exe
dir=$(mktemp -d) && trap 'rm -rf "$dir"' EXIT
cp -r "$docs/." "$dir/"
cp "$binary" "$dir/kube-sa-token$suffix"
cp "$(dirname "$binary")/kube-sa-token-full$suffix" "$dir/kube-sa-token-full$suffix"
chmod 0755 "$dir/kube-sa-token$suffix" "$dir/kube-sa-token-full$suffix"
(cd "$repo" && python3 tests/release/notices.py "$rust_target") >"$dir/THIRD-PARTY-LICENSES.txt"
# The software bill of materials of the same crates (CycloneDX JSON).
(cd "$repo" && python3 tests/release/notices.py "$rust_target" --sbom) >"$dir/kube-sa-token.cdx.json"
find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
if [ "$os" = windows ]; then
  python3 - "$dir" "$out/$name.zip" <<'PY'
import os, sys, time, zipfile
src, dst = sys.argv[1], sys.argv[2]
stamp = time.gmtime(int(os.environ["SOURCE_DATE_EPOCH"]))[:6]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(root, f)
            info = zipfile.ZipInfo(os.path.relpath(path, src), stamp)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as fh:
                z.writestr(info, fh.read())
PY
else
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$dir" -cf - . | gzip -9n >"$out/$name.tar.gz"
fi
echo "$out/$name.$([ "$os" = windows ] && echo zip || echo tar.gz)"
