#!/usr/bin/env python3
"""The third-party licence notice of a release archive: every crate linked
into the binary for TARGET (normal dependencies, walked from this package;
build scripts and dev-dependencies are not shipped), its licence expression,
and the licence texts it ships (LICENSE*, COPYING*, NOTICE*), each distinct
text printed once.

Usage: notices.py TARGET > THIRD-PARTY-LICENSES.txt   (run in the checkout)
"""
import hashlib
import json
import os
import subprocess
import sys

target = sys.argv[1]
meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--locked", "--format-version", "1", "--filter-platform", target]))
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = meta["resolve"]["root"]

linked, todo = set(), [root]
while todo:
    node = nodes[todo.pop()]
    for dep in node["deps"]:
        if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in linked:
            linked.add(dep["pkg"])
            todo.append(dep["pkg"])

texts = {}  # digest -> (text, [crates])
rows = []
for pid in sorted(linked, key=lambda i: (packages[i]["name"], packages[i]["version"])):
    p = packages[pid]
    licence = p.get("license") or ("see " + p["license_file"] if p.get("license_file") else "UNKNOWN")
    rows.append(f'{p["name"]} {p["version"]}: {licence}' + (f' ({p["repository"]})' if p.get("repository") else ""))
    folder = os.path.dirname(p["manifest_path"])
    for name in sorted(os.listdir(folder)):
        if name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")) and os.path.isfile(os.path.join(folder, name)):
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                text = f.read().strip()
            digest = hashlib.sha256(text.encode()).hexdigest()
            texts.setdefault(digest, (text, []))[1].append(f'{p["name"]} {p["version"]} ({name})')

unknown = [r for r in rows if r.endswith("UNKNOWN")]
if unknown:
    sys.exit("crates without a licence: " + ", ".join(unknown))
print(f"Third-party software in kube-sa-token for {target}: {len(rows)} crates.\n")
print("\n".join(rows))
for text, crates in sorted(texts.values(), key=lambda t: t[1][0]):
    print("\n" + "=" * 78)
    print("Used by: " + ", ".join(crates))
    print("-" * 78)
    print(text)
