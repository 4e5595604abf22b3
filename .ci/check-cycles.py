#!/usr/bin/env python3
"""Fails when modules of the library (src/, without the CLI binary) import each other in a
cycle, at file level and between top-level modules.

A module's imports are its `crate::`, `super::` and `self::` paths outside comments and test
modules, each resolved to the longest module path it names.
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(rel: str) -> tuple[str, ...]:
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    return () if parts == ["lib"] else tuple(parts)


def modules() -> dict[tuple[str, ...], str]:
    found = {}
    for d, _, files in os.walk(ROOT):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), ROOT).replace(os.sep, "/")
            if f.endswith(".rs") and not rel.startswith("bin/"):
                found[module_of(rel)] = os.path.join(d, f)
    return found


def resolve(mods, cur, segs):
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] == "super":
        base, segs = list(cur[:-1]), segs[1:]
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
    elif segs[0] == "self":
        base, segs = list(cur), segs[1:]
    else:
        return None
    for k in range(len(segs), -1, -1):
        if tuple(base + segs[:k]) in mods:
            return tuple(base + segs[:k])
    return None


def edges(mods):
    out = set()
    for m, path in mods.items():
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"//[^\n]*", "", text)
        text = re.sub(r"#\[cfg\(test\)\]\s*mod tests \{.*", "", text, flags=re.S)
        for hit in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text):
            t = resolve(mods, m, hit.group(1).split("::"))
            if t and t != m and m[: len(t)] != t:
                out.add((m, t))
    return out


def cycles(graph):
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                found.append(sorted("::".join(x) or "crate" for x in comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    sys.setrecursionlimit(10000)
    mods = modules()
    es = edges(mods)
    bad = 0
    for name, depth in (("file", None), ("top-level module", 1)):
        graph = {}
        for a, b in es:
            a, b = (a, b) if depth is None else (a[:depth], b[:depth])
            if a != b:
                graph.setdefault(a, set()).add(b)
        for c in cycles(graph):
            print(f"import cycle between {name}s: {', '.join(c)}")
            bad += 1
    print(f"{len(mods)} modules, {len(es)} imports, {bad} cycles")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
