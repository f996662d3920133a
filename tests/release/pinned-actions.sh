#!/usr/bin/env bash
# Every action the GitHub workflows use is pinned by a full commit SHA, not a
# tag or branch, which whoever controls the action's repository can move
# (the release job holds contents: write and a signing identity). A `uses:`
# of a local action (./path) or a docker:// image pinned by digest passes.
# Run by .ci/run; `--self-test` shows it catches a tag.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
check() { # FILES...: prints the unpinned `uses:` lines, fails if any
  local bad
  bad=$(grep -nE '^\s*-?\s*uses:' "$@" | grep -vE 'uses:\s*([^@[:space:]]+@[0-9a-f]{40}(\s|$)|\./|docker://[^[:space:]]+@sha256:[0-9a-f]{64})' || true)
  [ -z "$bad" ] || { printf 'not pinned by a full commit SHA:\n%s\n' "$bad"; return 1; }
}
if [ "${1:-}" = --self-test ]; then
  t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
  printf 'steps:\n  - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n  - uses: ./local\n' >"$t/ok.yml"
  check "$t/ok.yml" >/dev/null || { echo "self-test: a pinned workflow was refused" >&2; exit 1; }
  for bad in 'actions/checkout@v4' 'actions/checkout@main' 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af68' 'actions/checkout'; do
    printf 'steps:\n  - uses: %s\n' "$bad" >"$t/bad.yml"
    if check "$t/bad.yml" >/dev/null; then echo "self-test: $bad passed" >&2; exit 1; fi
  done
  echo "pinned-actions self-test: a tag, a branch, a short SHA and no ref are refused"
  exit 0
fi
check .github/workflows/*.yml
echo "every action in .github/workflows is pinned by a full commit SHA"
