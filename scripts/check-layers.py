#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check the module layering of docs/ARCHITECTURE.md against the code.

Input: the fenced ```layers block of docs/ARCHITECTURE.md, one line per module:

    module  path [path...]  : used modules ('-' for none)
    allow   FROM -> TO      : why (an edge the table forbids, accepted for now)

A path ending in '/' is a folder (its files, not its subfolders'); other paths
are files relative to the top and may use shell wildcards. A file belongs to
the first module that names it, so a file list goes before its folder.

Two graphs are read:
 - includes: every #include "..." of every .c/.h of a module (resolved like
   the compiler: the including file's folder first, then the top);
 - calls: which global symbols the objects of each module use from the
   objects of another (nm on the build tree's .o files; a module's objects
   are the ones compiled from its sources).

It fails when an edge goes to a module its table line does not name (and no
allow line accepts that exact edge), when the table itself has a cycle (so a
layer could call back up), and when two modules reach each other. It prints
the number of cross-module cycles of each graph, and the file pairs of one
module that include or call each other.

Usage: check-layers.py [--src TOP] [--build BUILDDIR] [--no-link] [--table FILE]
       check-layers.py --self-test
Exit 0 when the code keeps to the table, 1 when it does not, 2 on bad input.
--self-test runs the check on small made-up trees (includes only) and exits
0 when it passes the good one and fails each bad one for the right reason.
"""
import argparse
import fnmatch
import os
import re
import subprocess
import sys

SOURCE_DIRS = ("reservations", "quorum", "daemon", "cli")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def die(msg):
    print("check-layers: " + msg, file=sys.stderr)
    sys.exit(2)


def read_table(path):
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        die("%s: %s" % (path, e))
    m = re.search(r"^```layers\n(.*?)^```", text, re.M | re.S)
    if not m:
        die("%s: no ```layers block" % path)
    modules, allows = [], []
    for n, line in enumerate(m.group(1).splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if ":" not in line:
            die("%s: layers line %d: no ':'" % (path, n))
        head, tail = line.split(":", 1)
        words = head.split()
        if words[0] == "allow":
            if len(words) != 4 or words[2] != "->":
                die("%s: layers line %d: want 'allow FROM -> TO : why'" % (path, n))
            if not tail.strip():
                die("%s: layers line %d: an allowance needs its reason" % (path, n))
            allows.append((words[1], words[3], tail.strip()))
            continue
        if len(words) < 2:
            die("%s: layers line %d: want 'module path... : uses'" % (path, n))
        uses = [u for u in tail.split() if u != "-"]
        modules.append((words[0], words[1:], uses))
    names = [mod[0] for mod in modules]
    for name, _, uses in modules:
        for u in uses:
            if u not in names:
                die("%s: module %s uses unknown module %s" % (path, name, u))
    return modules, allows


def module_of(modules, relpath):
    for name, paths, _ in modules:
        for p in paths:
            if p.endswith("/"):
                if os.path.dirname(relpath) + "/" == p:
                    return name
            elif fnmatch.fnmatchcase(relpath, p):
                return name
    return None


def source_files(top):
    out = []
    for d in SOURCE_DIRS:
        for root, dirs, files in os.walk(os.path.join(top, d)):
            dirs[:] = [x for x in dirs if not x.startswith(".")]
            for f in files:
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(root, f), top))
    return sorted(out)


def include_edges(top, files):
    """(from file, to file) for every #include "..." that resolves in the tree."""
    edges = []
    for f in files:
        text = open(os.path.join(top, f), encoding="utf-8", errors="replace").read()
        for inc in INCLUDE_RE.findall(text):
            for cand in (os.path.join(os.path.dirname(f), inc), inc):
                if os.path.isfile(os.path.join(top, cand)):
                    edges.append((f, os.path.normpath(cand)))
                    break
    return edges


def object_source(build, top, obj):
    """The source file an automake object was compiled from, or None."""
    rel = os.path.relpath(obj, build)
    d, base = os.path.split(rel)
    stem = base[:-2]
    if "-" in stem:
        stem = stem.rsplit("-", 1)[1]
    src = os.path.join(d, stem + ".c")
    return src if os.path.isfile(os.path.join(top, src)) else None


def call_edges(top, build):
    """(from source, to source, symbol) for each global symbol one object uses from another."""
    objs = []
    for d in SOURCE_DIRS:
        for root, _, files in os.walk(os.path.join(build, d)):
            objs += [os.path.join(root, f) for f in files if f.endswith(".o")]
    if not objs:
        die("no object files under %s (build first, or --no-link)" % build)
    defined, used = {}, []
    for o in sorted(objs):
        src = object_source(build, top, o)
        if src is None:
            continue
        out = subprocess.run(["nm", "-P", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            sym, kind = parts[0], parts[1]
            if kind == "U":
                used.append((src, sym))
            elif kind in "TDBRCGSVW" and kind.isupper():
                defined.setdefault(sym, src)
    return [(src, defined[sym], sym) for src, sym in used
            if sym in defined and defined[sym] != src]


def cycles(nodes, edges):
    """Elementary cycles of a small directed graph (each once, as a node list)."""
    adj = {n: sorted({b for a, b in edges if a == n}) for n in nodes}
    order = {n: i for i, n in enumerate(sorted(nodes))}
    found = []

    def walk(start, node, path, seen):
        for nxt in adj.get(node, ()):
            if nxt == start:
                found.append(path[:])
            elif nxt not in seen and order[nxt] > order[start]:
                seen.add(nxt)
                path.append(nxt)
                walk(start, nxt, path, seen)
                path.pop()
                seen.discard(nxt)

    for s in sorted(nodes, key=order.get):
        walk(s, s, [s], {s})
    return found


SELF_TESTS = [
    # (name, table lines, {file: text}, expected substring of a failure or None)
    ("good", ["low daemon/base/ : -", "high daemon/ : low"],
     {"daemon/a.c": '#include "daemon/base/b.h"\n', "daemon/base/b.h": ""}, None),
    ("upward include", ["low daemon/base/ : -", "high daemon/ : low"],
     {"daemon/a.h": "", "daemon/base/b.c": '#include "daemon/a.h"\n'},
     "daemon/base/b.c (low) includes daemon/a.h (high)"),
    ("header-only reach past a layer",
     ["low daemon/base/ : -", "mid daemon/scsi/ : low", "high daemon/iscsi/ : mid"],
     {"daemon/iscsi/s.c": '#include "daemon/base/b.h"\n', "daemon/base/b.h": ""},
     "daemon/iscsi/s.c (high) includes daemon/base/b.h (low)"),
    ("file list before its folder",
     ["pure daemon/iscsi/p.[ch] : -", "rest daemon/iscsi/ : pure"],
     {"daemon/iscsi/p.c": '#include "daemon/iscsi/r.h"\n', "daemon/iscsi/r.h": ""},
     "daemon/iscsi/p.c (pure) includes daemon/iscsi/r.h (rest)"),
    ("cycle in the table", ["a daemon/base/ : b", "b daemon/ : a"], {}, "the table has a cycle"),
    ("allowance", ["low daemon/base/ : -", "high daemon/ : low",
                   "allow daemon/base/b.c -> daemon/a.h : being moved"],
     {"daemon/a.h": "", "daemon/base/b.c": '#include "daemon/a.h"\n'}, None),
    ("stale allowance", ["low daemon/base/ : -", "high daemon/ : low",
                         "allow daemon/base/b.c -> daemon/a.h : being moved"],
     {"daemon/base/b.c": ""}, "matches no edge"),
    ("unmapped file", ["low daemon/base/ : -"], {"daemon/x.c": ""}, "belongs to no module"),
]


def self_test():
    import tempfile
    failed = 0
    for name, table, files, want in SELF_TESTS:
        with tempfile.TemporaryDirectory() as top:
            for f, text in files.items():
                os.makedirs(os.path.join(top, os.path.dirname(f)), exist_ok=True)
                open(os.path.join(top, f), "w").write(text)
            tfile = os.path.join(top, "table.md")
            open(tfile, "w").write("```layers\n" + "\n".join(table) + "\n```\n")
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--src", top,
                                "--table", tfile, "--no-link"], capture_output=True, text=True)
            ok = r.returncode == 0 if want is None else (r.returncode == 1 and want in r.stdout)
            print("self-test %-32s %s" % (name, "ok" if ok else "FAILED"))
            if not ok:
                print(r.stdout + r.stderr)
                failed += 1
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--src", default=os.path.dirname(here))
    ap.add_argument("--build", default=".")
    ap.add_argument("--table", default=None)
    ap.add_argument("--no-link", action="store_true")
    args = ap.parse_args()
    top = os.path.abspath(args.src)
    modules, allows = read_table(args.table or os.path.join(top, "docs/ARCHITECTURE.md"))
    names = [m[0] for m in modules]
    may = {m[0]: set(m[2]) for m in modules}
    bad = []

    # The table itself must go one way only.
    table_edges = [(a, b) for a in names for b in may[a]]
    for c in cycles(names, table_edges):
        bad.append("the table has a cycle: %s" % " -> ".join(c + [c[0]]))

    files = source_files(top)
    unmapped = [f for f in files if module_of(modules, f) is None]
    for f in unmapped:
        bad.append("%s belongs to no module of the table" % f)

    graphs = {"include": [(a, b, "") for a, b in include_edges(top, files)]}
    if not args.no_link:
        graphs["call"] = call_edges(top, os.path.abspath(args.build))

    used_allows = set()
    all_medges = set()
    for kind, edges in graphs.items():
        medges = set()
        for a, b, sym in edges:
            ma, mb = module_of(modules, a), module_of(modules, b)
            if ma is None or mb is None or ma == mb:
                continue
            medges.add((ma, mb))
            if mb in may[ma]:
                continue
            allowed = [al for al in allows
                       if al[0] in (a, ma) and al[1] in (b, mb)]
            if allowed:
                used_allows.update(allowed)
                continue
            what = "includes" if kind == "include" else "calls %s in" % sym
            bad.append("%s (%s) %s %s (%s): %s may use only %s" %
                       (a, ma, what, b, mb, ma, " ".join(sorted(may[ma])) or "nothing"))
        all_medges |= medges
        cyc = cycles(names, medges)
        print("%s graph: %d module edges, %d cross-module cycles" % (kind, len(medges), len(cyc)))
        for c in cyc:
            print("  cycle: " + " -> ".join(c + [c[0]]))
            if len(c) == 2:
                bad.append("%s and %s reach each other (%s)" % (c[0], c[1], kind))
        fedges = {(a, b) for a, b, _ in edges if module_of(modules, a) == module_of(modules, b)}
        pairs = sorted({tuple(sorted((a, b))) for a, b in fedges if (b, a) in fedges and a != b})
        print("%s graph: %d file pairs within a module that reach each other" % (kind, len(pairs)))
        for a, b in pairs:
            print("  %s <-> %s" % (a, b))
    cyc = cycles(names, all_medges)
    print("include+call graph: %d cross-module cycles" % len(cyc))
    for c in cyc:
        print("  cycle: " + " -> ".join(c + [c[0]]))
        bad.append("modules reach each other: %s" % " -> ".join(c + [c[0]]))
    for al in allows:
        if al not in used_allows:
            bad.append("allowance %s -> %s matches no edge: remove it" % (al[0], al[1]))
        else:
            print("allowed: %s -> %s (%s)" % al)

    for b in bad:
        print("FAIL: " + b)
    print("%d violation(s)" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
