#!/usr/bin/env python3
"""The third-party licence notice of a release archive: every crate linked
into the binary for TARGET (normal dependencies, walked from this package;
build scripts and dev-dependencies are not shipped), its licence expression,
and the licence texts it ships (LICENSE*, COPYING*, NOTICE*), each distinct
text printed once. With --sbom, the same crates as a software bill of
materials instead: CycloneDX 1.5 JSON, each crate with its purl, licence,
the SHA-256 Cargo.lock pins it by and what it depends on; byte-identical
for the same checkout (times from SOURCE_DATE_EPOCH).

Usage: notices.py TARGET > THIRD-PARTY-LICENSES.txt   (run in the checkout)
       notices.py TARGET --sbom > kube-sa-token.cdx.json
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid

target = sys.argv[1]
sbom = sys.argv[2:] == ["--sbom"]
meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--locked", "--format-version", "1"]))
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = meta["resolve"]["root"]

# What the binary links, as cargo builds it (the feature resolver of the
# crate's edition): `cargo tree`'s normal dependencies for TARGET. cargo
# metadata's graph unifies features across build and dev dependencies and
# would name crates the binary does not contain.
tree = subprocess.check_output(
    ["cargo", "tree", "--locked", "-e", "normal", "--target", target, "--prefix", "none", "-f", "{p}"],
    text=True)
wanted = {(l.split()[0], l.split()[1].lstrip("v")) for l in tree.splitlines() if l.strip()}
linked = {pid for pid, p in packages.items() if (p["name"], p["version"]) in wanted and pid != root}
if len(linked) != len(wanted) - 1:
    sys.exit(f"cargo tree and cargo metadata disagree: {len(wanted) - 1} crates against {len(linked)}")

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


def purl(p):
    return f'pkg:cargo/{p["name"]}@{p["version"]}'


if sbom:
    # Cargo.lock's checksums: what cargo verified each crate's source by.
    lock = open("Cargo.lock", encoding="utf-8").read()
    sums = {(m[0], m[1]): m[2] for m in re.findall(
        r'name = "([^"]+)"\nversion = "([^"]+)"\nsource = "[^"]+"\nchecksum = "([0-9a-f]{64})"', lock)}
    me = packages[root]
    def component(p, kind):
        c = {"type": kind, "bom-ref": purl(p), "name": p["name"], "version": p["version"], "purl": purl(p)}
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"]}]
        if (p["name"], p["version"]) in sums:
            c["hashes"] = [{"alg": "SHA-256", "content": sums[(p["name"], p["version"])]}]
        if p.get("repository"):
            c["externalReferences"] = [{"type": "vcs", "url": p["repository"]}]
        return c
    def depends(pid):
        return sorted(purl(packages[d["pkg"]]) for d in nodes[pid]["deps"]
                      if d["pkg"] in linked and any(k["kind"] is None for k in d["dep_kinds"]))
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    ordered = sorted(linked, key=lambda i: (packages[i]["name"], packages[i]["version"]))
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, purl(me) + "/" + target + "/" + lock)),
        "version": 1,
        "metadata": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
            "tools": {"components": [{"type": "application", "name": "kube-sa-token tests/release/notices.py"}]},
            "component": dict(component(me, "application"), properties=[{"name": "cdx:rust:target", "value": target}]),
        },
        "components": [component(packages[pid], "library") for pid in ordered],
        "dependencies": [{"ref": purl(me), "dependsOn": depends(root)}]
        + [{"ref": purl(packages[pid]), "dependsOn": depends(pid)} for pid in ordered],
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    print()
    sys.exit(0)
print(f"Third-party software in kube-sa-token for {target}: {len(rows)} crates.\n")
print("\n".join(rows))
for text, crates in sorted(texts.values(), key=lambda t: t[1][0]):
    print("\n" + "=" * 78)
    print("Used by: " + ", ".join(crates))
    print("-" * 78)
    print(text)
