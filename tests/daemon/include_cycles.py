#!/usr/bin/env python3
"""The daemon's files must not import each other in a circle.

Builds the graph of `#include "x.h"` between the parts of a folder (a part is a stem: x.c and x.h
together) and fails naming every circle found. Run as a test on daemon/; first it checks itself
on a made-up folder with a circle, so that a checker that finds nothing cannot pass.

usage: include_cycles.py DIR
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def graph(folder):
    parts = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext not in (".c", ".h"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            text = f.read()
        deps = parts.setdefault(stem, set())
        for inc in INCLUDE.findall(text):
            dep = os.path.splitext(os.path.basename(inc))[0]
            if dep != stem and os.path.exists(os.path.join(folder, inc)):
                deps.add(dep)
    return parts


def circles(parts):
    """Strongly connected components of more than one part (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(parts.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(parts):
        if v not in index:
            visit(v)
    return found


def path_in(parts, comp):
    """One circle through the component, as a readable chain a -> b -> ... -> a."""
    start = comp[0]
    members = set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(parts[v] & members):
            if w == start:
                chain = [v]
                while prev[chain[-1]] is not None:
                    chain.append(prev[chain[-1]])
                return " -> ".join(reversed(chain)) + " -> " + start
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return " <-> ".join(comp)


def self_test():
    with tempfile.TemporaryDirectory() as d:
        files = {"a.c": '#include "a.h"\n#include "b.h"\n', "a.h": "", "b.c": '#include "c.h"\n',
                 "b.h": "", "c.c": '#include "a.h"\n', "c.h": "", "d.c": '#include "a.h"\n'}
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        found = circles(graph(d))
        assert found == [["a", "b", "c"]], f"self-test: found {found}, wanted [a, b, c]"


def main():
    self_test()
    folder = sys.argv[1]
    parts = graph(folder)
    found = circles(parts)
    for comp in found:
        print(f"circle among {' '.join(comp)}: e.g. {path_in(parts, comp)}")
    if found:
        print(f"{len(found)} circle(s) among the includes of {folder}: a part that reports upward "
              "does it through a callback table (emitter.h, stream.h, jobs.h), not an include")
        return 1
    print(f"{len(parts)} parts of {folder}, no circle:")
    for v in sorted(parts):
        print(f"  {v} -> {' '.join(sorted(parts[v])) or '(nothing)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
