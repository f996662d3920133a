#!/usr/bin/env bash
# What every release archive holds besides the binary, into DIR:
#   tests/release/docs.sh BINARY DIR
# LICENSE, README.md, CHANGELOG.md, shell completions (completions/) and man
# pages (man/), made by BINARY (a build for this machine: one CLI everywhere).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$1 dir=$2
mkdir -p "$dir/completions" "$dir/man"
cp "$repo/LICENSE" "$repo/README.md" "$repo/CHANGELOG.md" "$dir/"
"$bin" completions bash >"$dir/completions/kube-sa-token.bash"
"$bin" completions zsh >"$dir/completions/_kube-sa-token"
"$bin" completions fish >"$dir/completions/kube-sa-token.fish"
"$bin" completions powershell >"$dir/completions/_kube-sa-token.ps1"
"$bin" man --dir "$dir/man"
