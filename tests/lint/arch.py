#!/usr/bin/env python3
"""Architecture checks (ctest: lint.arch).

  tests/lint/arch.py [--root DIR] [--print]

Checks what docs/HACKING.md promises about the tree, and fails naming each
breach:

1. No file under src/ is longer than LIMIT lines.
2. No test, tool or source file #includes a .c file.
3. Dependencies flow one way: a file in src/<module>/ includes only headers
   of its own module or of modules it links (directly or through others) in
   CMakeLists.txt's ns_module() lines. Public headers map to modules by
   HEADER_MODULE; internal headers are "module/file.h".
4. Every file path under src/, include/, tests/, tools/, bench/ or deploy/
   that docs/*.md names exists, and every ns_/ns__/NS_ name they quote in
   backticks is defined or used somewhere in the code (so the docs follow
   renames and moves).
5. docs/ARCHITECTURE.md's dependency table (direct links, and the modules
   whose headers each module's files include) (between the markers
   <!-- arch:deps --> and <!-- /arch:deps -->) lists exactly the module
   includes the code has. --print prints the table to paste there.
"""
import argparse
import os
import re
import sys

LIMIT = 1200

# Public header -> the module that implements it.
HEADER_MODULE = {
    "error.h": "core", "date.h": "core",
    "event.h": "event", "catalogue.h": "event", "ident.h": "event",
    "validate.h": "validate", "json.h": "json", "fold.h": "fold",
    "store.h": "store", "bundle.h": "bundle", "roster.h": "roster",
    "config.h": "config", "status.h": "status", "auth.h": "auth", "audit.h": "audit",
    "nats.h": "nats",
}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def cmake_modules(root):
    """{module: set of directly linked modules} from ns_module() lines."""
    text = open(os.path.join(root, "CMakeLists.txt")).read()
    mods = {}
    for m in re.finditer(r"^ns_module\((\w+)([^)]*)\)", text, re.M):
        deps = set(re.findall(r"nomsync_(\w+)", m.group(2)))
        deps.discard("proto")
        mods[m.group(1)] = deps
    return mods


def closure(mods):
    out = {}
    for m in mods:
        seen, todo = set(), list(mods[m])
        while todo:
            d = todo.pop()
            if d not in seen:
                seen.add(d)
                todo.extend(mods.get(d, ()))
        out[m] = seen
    return out


def files(root, top, exts):
    for d, _, names in os.walk(os.path.join(root, top)):
        for n in sorted(names):
            if n.endswith(exts):
                yield os.path.join(d, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--print", action="store_true", help="print the dependency table")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    errors = []

    for path in files(root, "src", (".c", ".h")):
        n = sum(1 for _ in open(path, errors="replace"))
        if n > LIMIT:
            errors.append(f"{os.path.relpath(path, root)}: {n} lines (limit {LIMIT})")

    for top in ("src", "tests", "tools", "bench"):
        for path in files(root, top, (".c", ".h")):
            for _, inc in INCLUDE_RE.findall(open(path, errors="replace").read()):
                if inc.endswith(".c"):
                    errors.append(f"{os.path.relpath(path, root)}: includes the .c file {inc}")

    mods = cmake_modules(root)
    allowed = closure(mods)
    edges = {m: set() for m in mods}
    for m in mods:
        for path in files(root, os.path.join("src", m), (".c", ".h")):
            rel = os.path.relpath(path, root)
            for kind, inc in INCLUDE_RE.findall(open(path, errors="replace").read()):
                if kind == "<" and inc.startswith("nomsync/"):
                    target = HEADER_MODULE.get(inc[len("nomsync/"):])
                    if target is None:
                        errors.append(f"{rel}: public header {inc} has no module in tests/lint/arch.py")
                        continue
                elif kind == '"' and "/" in inc:
                    target = inc.split("/", 1)[0]
                    if target not in mods:
                        continue
                else:
                    continue
                if target == m:
                    continue
                edges[m].add(target)
                if target not in allowed[m]:
                    errors.append(f"{rel}: includes {inc} of module {target}, which {m} does not link "
                                  f"(CMakeLists.txt ns_module({m} ...))")

    table = ["| module | links (CMakeLists.txt) | its files include headers of |", "|---|---|---|"]
    for m in sorted(mods, key=lambda x: (len(allowed[x]), x)):
        table.append(f"| {m} | {', '.join(sorted(mods[m])) or '-'} | {', '.join(sorted(edges[m])) or '-'} |")
    table = "\n".join(table)
    if args.print:
        print(table)
        return 0

    code = []
    for top in ("src", "include", "tests", "tools", "bench"):
        for path in files(root, top, (".c", ".h", ".def", ".cmake", ".sh", ".py", ".js")):
            code.append(open(path, errors="replace").read())
    code = "\n".join(code)
    known = set(re.findall(r"\b(?:ns_|ns__|NS_|NS__)\w+", code))
    for doc in sorted(os.listdir(os.path.join(root, "docs"))):
        if not doc.endswith(".md"):
            continue
        text = open(os.path.join(root, "docs", doc)).read()
        for ref in sorted(set(re.findall(r"`((?:src|include|tests|tools|bench|deploy)/[\w./-]*\w)`", text))):
            # Names without an extension may be build outputs (bench/nomsync-bench).
            if "*" not in ref and "." in os.path.basename(ref) and not os.path.exists(os.path.join(root, ref)):
                errors.append(f"docs/{doc}: names {ref}, which does not exist")
        for sym in sorted(set(re.findall(r"`((?:ns_|ns__|NS_|NS__)\w+)(?:\(\))?`", text))):
            if sym not in known:
                errors.append(f"docs/{doc}: names {sym}, which the code does not have")

    arch = open(os.path.join(root, "docs", "ARCHITECTURE.md")).read()
    m = re.search(r"<!-- arch:deps -->\n(.*?)\n<!-- /arch:deps -->", arch, re.S)
    if m is None:
        errors.append("docs/ARCHITECTURE.md: no <!-- arch:deps --> table")
    elif m.group(1).strip() != table:
        errors.append("docs/ARCHITECTURE.md: the dependency table differs from the code's includes; "
                      "tests/lint/arch.py --print gives:\n" + table)

    for e in errors:
        print("FAIL " + e)
    print("arch: " + ("ok" if not errors else f"{len(errors)} problems"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
