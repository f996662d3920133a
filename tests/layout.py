#!/usr/bin/env python3
"""The source layout's rules (docs/architecture.md), checked on every test run:

1. No import cycle between source files, inside a folder or across: an edge
   A -> B when A names something B defines (`use`, a path in code, a re-export
   followed to its file), and when A calls a method of a type defined
   elsewhere that B's own `impl` block adds. Test code is left out.
2. No Rust file (src/ or tests/) over 450 lines.
3. No use case (src/app/) importing the command line (src/cli/).
4. No use-case code naming an adapter's error variant (`CacheError::X`,
   `KubeApiError::X`, ...): the use cases branch on their ports' answers.
   The adapters that translate them (app/cache_adapter.rs, app/kube_minter.rs)
   and tests are exempt.

Usage: tests/layout.py [REPO]   (exit 1 with one line per broken rule)
       tests/layout.py --self-test
"""
import os
import re
import sys
import tempfile

MAX_LINES = 450
ADAPTERS = {"src/app/cache_adapter.rs", "src/app/kube_minter.rs"}
ERROR_TYPES = r"(?:CacheError|KubeApiError|LockError|KubeconfigError)"
TEST_MOD = re.compile(r"#\[cfg\([^\]]*\btest\b[^\]]*\)\]\s*(?:#\[path\s*=\s*\"([^\"]+)\"\]\s*)?(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*([;{])")


def strip(text):
    """Code without comments and string contents."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"r#\".*?\"#", '""', text, flags=re.S)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def without_inline_tests(code):
    """`code` up to its first inline test module."""
    for m in TEST_MOD.finditer(code):
        if m.group(3) == "{":
            return code[: m.start()]
    return code


def expand_use(s):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    s = s.strip()
    m = re.match(r"^(.*?)\{(.*)\}$", s, re.S)
    if not m:
        return [re.sub(r"\s+as\s+\w+$", "", s).strip()]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for q in filter(None, (q.strip() for q in parts)):
        for e in expand_use(q):
            out.append(prefix.rstrip(":") if e == "self" else prefix + e)
    return out


class Crate:
    def __init__(self, src):
        self.src = src
        self.text = {}
        for d, _, fs in os.walk(src):
            for f in fs:
                if f.endswith(".rs"):
                    p = os.path.join(d, f)
                    with open(p) as fh:
                        self.text[p] = fh.read()
        self.mods = {}
        for p in sorted(self.text):
            self.mods.setdefault(self.modpath(p), p)
        lib = os.path.join(src, "lib.rs")
        if lib in self.text:
            self.mods[()] = lib
        for p, t in self.text.items():
            for m in re.finditer(r'#\[path\s*=\s*"([^"]+)"\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)', t):
                target = os.path.normpath(os.path.join(os.path.dirname(p), m.group(1)))
                self.mods[self.modpath(p) + (m.group(2),)] = target
        self.file_mod = {v: k for k, v in self.mods.items()}
        self.tests = self.test_files()
        self.code = {p: without_inline_tests(strip(t)) for p, t in self.text.items()}

    def modpath(self, p):
        rel = os.path.relpath(p, self.src)[:-3].split(os.sep)
        if rel[-1] in ("mod", "main", "lib"):
            rel = rel[:-1]
        return tuple(rel)

    def test_files(self):
        tests = set()
        for p, t in self.text.items():
            mp = self.file_mod.get(p)
            for m in TEST_MOD.finditer(t):
                if m.group(3) != ";" or mp is None:
                    continue
                child = self.mods.get(mp + (m.group(2),))
                if child:
                    tests.add(child)
        # Everything under a test module's folder is test code too.
        for t in list(tests):
            base = os.path.dirname(t) if t.endswith("mod.rs") else t[:-3]
            tests.update(p for p in self.text if p.startswith(base + os.sep))
        return tests

    def reexports(self, mp):
        code = self.code.get(self.mods.get(mp), "")
        out = {}
        for m in re.finditer(r"pub(?:\([^)]*\))?\s+use\s+([^;]+);", code):
            for path in expand_use(m.group(1)):
                segs = path.split("::")
                out[segs[-1]] = segs
        return out

    def resolve(self, cur, segs, depth=0):
        """The file that defines the item `segs` names from module `cur`."""
        if depth > 10 or not segs:
            return None
        base = list(cur)
        if segs[0] == "crate":
            base, segs = [], segs[1:]
        elif segs[0] == "super":
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
        elif segs[0] == "self":
            segs = segs[1:]
        elif tuple(base + [segs[0]]) not in self.mods:
            return None  # another crate, or a local name
        mp = tuple(base)
        for s in segs:
            if mp + (s,) in self.mods:
                mp = mp + (s,)
                continue
            rx = self.reexports(mp)
            if s in rx and len(rx[s]) > 1:
                found = self.resolve(mp, rx[s], depth + 1)
                if found is not None:
                    return found
            return mp
        return mp

    def edges(self):
        edges = {p: set() for p in self.text if p not in self.tests}
        defs = {}
        impls = []
        for p in edges:
            code, mp = self.code[p], self.file_mod.get(p)
            if mp is None:
                continue
            for m in re.finditer(r"\b(?:struct|enum|trait|type)\s+(\w+)", code):
                defs.setdefault(m.group(1), set()).add(p)
            paths = []
            for m in re.finditer(r"\buse\s+([^;]+);", code):
                paths += expand_use(m.group(1))
            paths += re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", code)
            for m in re.finditer(r"(?<![:\w])(\w+)((?:::\w+)+)", code):
                if mp + (m.group(1),) in self.mods:
                    paths.append("self::" + m.group(1) + m.group(2))
            for path in paths:
                target = self.resolve(mp, [x for x in path.replace(" ", "").split("::") if x])
                q = self.mods.get(target) if target is not None else None
                if q and q != p and q in edges:
                    edges[p].add(q)
            for m in re.finditer(r"\bimpl(?:<[^>]*>)?\s+(\w+)(?:<[^>]*>)?\s*\{", code):
                depth, j = 0, m.end() - 1
                for j in range(m.end() - 1, len(code)):
                    depth += code[j] == "{"
                    depth -= code[j] == "}"
                    if depth == 0:
                        break
                impls.append((p, m.group(1), re.findall(r"\bfn\s+(\w+)", code[m.end(): j])))
        # An inherent impl of a type defined in another file: whoever calls
        # its methods depends on this file.
        for p, ty, names in impls:
            owners = defs.get(ty, set())
            if p in owners or len(owners) != 1:
                continue
            edges[p].add(next(iter(owners)))
            calls = re.compile(r"(?:\.|Self::|" + ty + r"::)(?:" + "|".join(map(re.escape, names)) + r")\s*[(:<]") if names else None
            for q in edges:
                if q != p and calls and calls.search(self.code[q]):
                    edges[q].add(p)
        return edges


def cycles(edges):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def check(repo):
    problems = []
    crate = Crate(os.path.join(repo, "src"))
    rel = lambda p: os.path.relpath(p, repo)
    edges = crate.edges()
    for comp in cycles(edges):
        inner = "; ".join(f"{rel(a)} -> {', '.join(rel(b) for b in sorted(edges[a]) if b in comp)}" for a in comp)
        problems.append(f"import cycle: {inner}")
    for d in ("src", "tests"):
        for root, _, fs in os.walk(os.path.join(repo, d)):
            for f in fs:
                if f.endswith(".rs"):
                    p = os.path.join(root, f)
                    with open(p) as fh:
                        n = sum(1 for _ in fh)
                    if n > MAX_LINES:
                        problems.append(f"{rel(p)}: {n} lines (at most {MAX_LINES}): split it by concern")
    for p, code in crate.code.items():
        r = rel(p)
        if not r.startswith("src/app/") or p in crate.tests:
            continue
        if re.search(r"\bcrate::cli\b", code):
            problems.append(f"{r}: a use case imports the command line (crate::cli)")
        if r not in ADAPTERS:
            for m in re.finditer(ERROR_TYPES + r"::\w+", code):
                line = code[: m.start()].count("\n") + 1
                problems.append(f"{r}:{line}: a use case names an adapter's error variant ({m.group(0)}); branch on the port's answer")
    return problems


def self_test():
    """The checker finds what it is for: a cycle, a long file, a use case
    importing the CLI and matching an adapter's error."""
    with tempfile.TemporaryDirectory() as repo:
        files = {
            "src/lib.rs": "mod a;\nmod app;\nmod cli;\n",
            "src/a/mod.rs": "mod x;\nmod y;\npub use x::X;\n",
            "src/a/x.rs": "use super::y::Y;\npub struct X;\n",
            "src/a/y.rs": "pub struct Y;\nfn f() { let _ = super::X; }\n",
            "src/cli/mod.rs": "pub fn parse() {}\n",
            "src/app/mod.rs": "mod run;\n",
            "src/app/run.rs": "use crate::cli::parse;\nfn f(e: E) { match e { CacheError::Corrupt(_) => {} } }\n",
            "tests/long.rs": "\n" * (MAX_LINES + 1),
        }
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(repo, path)), exist_ok=True)
            with open(os.path.join(repo, path), "w") as fh:
                fh.write(text)
        found = "\n".join(check(repo))
        for expect in ("import cycle: src/a/x.rs", "tests/long.rs: 451 lines", "imports the command line", "CacheError::Corrupt"):
            assert expect in found, f"self-test: {expect!r} not found in:\n{found}"
        os.remove(os.path.join(repo, "tests/long.rs"))
        with open(os.path.join(repo, "src/a/y.rs"), "w") as fh:
            fh.write("pub struct Y;\n")
        with open(os.path.join(repo, "src/app/run.rs"), "w") as fh:
            fh.write("fn f() {}\n")
        assert check(repo) == [], check(repo)
    print("layout self-test: ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    repo = os.path.normpath(os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")))
    problems = check(repo)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print("layout: no import cycle, no file over %d lines, use cases apart from the CLI and adapters' errors" % MAX_LINES)
