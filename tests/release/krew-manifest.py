#!/usr/bin/env python3
"""The krew plugin manifest (plugin `sa-token`) for the archives listed in
OUT/sha256sums.txt: one platform per archive, with its sha256, the binary
as `bin`, the full program it runs beside it and LICENSE extracted
(krew's `files`). Validated by krew's own
validate-krew-manifest in tests/release/check.sh.

Usage: krew-manifest.py VERSION OUT [BASE_URL] > OUT/sa-token.yaml
BASE_URL is where the archives are downloaded from: the GitHub release of
vVERSION unless given (tests/release/check.sh serves them on loopback).
"""
import os
import sys

version, out = sys.argv[1], sys.argv[2]
base = sys.argv[3] if len(sys.argv) > 3 else \
    f"https://github.com/kube-sa-token/kube-sa-token/releases/download/v{version}"
sums = {}
with open(os.path.join(out, "sha256sums.txt")) as f:
    for line in f:
        digest, name = line.split()
        sums[name] = digest

platforms = []
for os_name, arch in [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"),
                      ("darwin", "arm64"), ("windows", "amd64")]:
    ext, suffix = (".zip", ".exe") if os_name == "windows" else (".tar.gz", "")
    exe, full = f"kube-sa-token{suffix}", f"kube-sa-token-full{suffix}"
    archive = f"kube-sa-token-v{version}-{os_name}-{arch}{ext}"
    if archive not in sums:
        continue
    platforms.append(f"""  - selector:
      matchLabels:
        os: {os_name}
        arch: {arch}
    uri: {base}/{archive}
    sha256: {sums[archive]}
    files:
      - from: {exe}
        to: .
      - from: {full}
        to: .
      - from: LICENSE
        to: .
    bin: {exe}""")

print(f"""apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: sa-token
spec:
  version: v{version}
  homepage: https://github.com/kube-sa-token/kube-sa-token
  shortDescription: Act as a ServiceAccount, token kept in the keyring
  description: |
    Makes kubectl (and any client-go or kube-rs client) authenticate as a
    Kubernetes ServiceAccount, or as an X.509 user, for testing RBAC and
    working with least privilege. An exec credential plugin: it mints the
    ServiceAccount's token once through a more privileged admin context
    (TokenRequest, or the classic token Secret), keeps it in the operating
    system's keyring and serves it while it is fresh.
  caveats: |
    Set up a context that acts as a ServiceAccount, then use it:
      kubectl sa-token setup NAMESPACE/SERVICEACCOUNT
      kubectl --context NAMESPACE/SERVICEACCOUNT@CLUSTER auth whoami
    The exec entry runs kubectl-sa_token from PATH (~/.krew/bin), so it keeps
    working across krew upgrades. Check with: kubectl sa-token doctor
    Completion of kubectl sa-token <TAB> (kubectl 1.26+):
      ln -s kubectl-sa_token ~/.krew/bin/kubectl_complete-sa_token
  platforms:
""" + "\n".join(platforms))
