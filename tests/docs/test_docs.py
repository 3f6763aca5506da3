#!/usr/bin/python3
"""The README and docs/, checked against the files and against the tool.

Usage: test_docs.py --rollsafe BIN --work DIR CASE
Environment: RS_SOURCE_DIR (the source tree).

Each function named test_<case> below is one ctest case, docs.<case>:

- readme_length: README.md has at most 300 lines;
- links: every relative link of README.md, of docs/**/*.md and of the
  other markdown pages (examples/, schema/, ...) names a file or directory
  that exists, and an anchor names a heading of that page;
- quickstart: the README's quickstart, run as written against the built
  tool in a copy of examples/quickstart/: examples/quickstart/make-table.sh
  makes the table, each `rollsafe` command exits as its `# exit N` comment
  says (0 without one), each output excerpt is found in what the command
  before it printed, and the scan finds the version-2 rows; fix and restore
  put the table back byte for byte;
- config_keys: every key the config file parser knows (src/cli/config.c)
  is in docs/config.md.

Exit status: 0 passed, 1 failed.
"""

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys

README_MAX_LINES = 300
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")
RUN_ID = re.compile(r"\b\d{8}T\d{6}Z-[0-9a-f]{6}\b")
DURATION = re.compile(r"\b\d+\.\d+ s\b")


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c)[:3000] for c in context))


class Ctx:
    def __init__(self, args):
        self.rollsafe = os.path.abspath(args.rollsafe)
        self.work = args.work
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.src = os.environ.get("RS_SOURCE_DIR", "")
        check(self.src and os.path.isfile(os.path.join(self.src, "README.md")),
              "RS_SOURCE_DIR does not hold README.md", self.src)

    def read(self, rel):
        with open(os.path.join(self.src, rel), encoding="utf-8") as f:
            return f.read()


# ---- markdown ---------------------------------------------------------------

def outside_code(text):
    """The lines of a markdown text outside fenced code blocks, with inline
    code spans blanked, as (line number, line) pairs."""
    fence = None
    for n, line in enumerate(text.split("\n"), 1):
        m = re.match(r"^\s*(```+|~~~+)", line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1).startswith(fence):
                fence = None
            continue
        if fence is None:
            yield n, re.sub(r"`[^`]*`", "``", line)


def slug(heading):
    """The anchor GitHub gives a heading."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text):
    out, seen = set(), {}
    fence = None
    for line in text.split("\n"):
        m = re.match(r"^\s*(```+|~~~+)", line)
        if m:
            fence = None if fence else m.group(1)
            continue
        if fence:
            continue
        h = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if h:
            base = slug(h.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else "%s-%d" % (base, n))
        for a in re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", line):
            out.add(a)
    return out


LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)")


def links(text):
    for n, line in outside_code(text):
        for target in LINK.findall(line):
            yield n, target
        m = REF_LINK.match(line)
        if m:
            yield n, m.group(1)


def pages(ctx):
    """README.md, docs/**/*.md, and every other markdown page of the source
    tree (examples, schema, migrations, bench, tests), build trees and
    hidden directories left out."""
    out = ["README.md"]
    for path in sorted(glob.glob(os.path.join(ctx.src, "docs", "**", "*.md"),
                                 recursive=True)):
        out.append(os.path.relpath(path, ctx.src))
    for top, dirs, files in os.walk(ctx.src):
        rel = os.path.relpath(top, ctx.src)
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "build"))
                         and not (rel == "." and d == "docs"))
        for f in sorted(files):
            page = os.path.normpath(os.path.join(rel, f))
            if f.endswith(".md") and page not in out:
                out.append(page)
    return out


# ---- the cases ---------------------------------------------------------------

def test_readme_length(ctx):
    lines = ctx.read("README.md").count("\n")
    check(lines <= README_MAX_LINES,
          "README.md has %d lines, more than %d: move reference material to "
          "docs/" % (lines, README_MAX_LINES))
    print("README.md: %d lines" % lines)


def test_links(ctx):
    broken, checked = [], 0
    for page in pages(ctx):
        text = ctx.read(page)
        here = os.path.dirname(os.path.join(ctx.src, page))
        for n, target in links(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            checked += 1
            dest = os.path.normpath(os.path.join(here, path)) if path else \
                os.path.join(ctx.src, page)
            if not os.path.exists(dest):
                broken.append("%s:%d: %s: no such file" % (page, n, target))
                continue
            if anchor and dest.endswith(".md") and os.path.isfile(dest):
                with open(dest, encoding="utf-8") as f:
                    if anchor not in anchors(f.read()):
                        broken.append("%s:%d: %s: no heading with that anchor"
                                      % (page, n, target))
    check(not broken, "%d broken links" % len(broken), *broken)
    check(checked > 20, "only %d relative links found: is the parser broken?"
          % checked)
    print("%d relative links in %d pages" % (checked, len(pages(ctx))))


def quickstart_blocks(readme):
    """The fenced blocks of the README's quickstart section, in order, as
    (language, text)."""
    m = re.search(r"^## Quickstart.*?$(.*?)^## ", readme, re.M | re.S)
    check(m, "README.md has no '## Quickstart' section")
    return re.findall(r"^```(\w*)\n(.*?)^```\s*$", m.group(1), re.M | re.S)


def commands(block):
    """The commands of a sh block, continuation lines joined, as
    (command, expected exit status)."""
    out, cur = [], ""
    for line in block.split("\n"):
        cur += line
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        cmd, _, comment = cur.partition(" #")
        cmd = " ".join(cmd.split())
        cur = ""
        if not cmd.strip():
            continue
        m = re.search(r"\bexit (\d)\b", comment)
        out.append((cmd.strip(), int(m.group(1)) if m else 0))
    return out


def normalised(text):
    return [DURATION.sub("N s", RUN_ID.sub("RUN_ID", l)).rstrip()
            for l in text.split("\n")]


def run(ctx, argv, cwd):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    for marker in SANITIZER_MARKERS:
        check(marker not in p.stderr, "%s in %s" % (marker, argv), p.stderr)
    return p


def table(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT id, payload FROM parcels ORDER BY id"
                           ).fetchall()
    finally:
        con.close()


def test_quickstart(ctx):
    src = os.path.join(ctx.src, "examples", "quickstart")
    qs = os.path.join(ctx.work, "quickstart")
    shutil.copytree(src, qs, ignore=shutil.ignore_patterns("*.db*"))
    blocks = quickstart_blocks(ctx.read("README.md"))
    cwd, last, run_id, ran, made, before = ctx.work, None, None, [], None, None
    for lang, text in blocks:
        if lang == "yaml":
            with open(os.path.join(qs, "rollsafe.yaml")) as f:
                have = [l.rstrip() for l in f]
            for line in text.rstrip("\n").split("\n"):
                check(line.rstrip() in have, "the README's rollsafe.yaml line "
                      "is not in examples/quickstart/rollsafe.yaml", line)
            continue
        if lang == "":
            check(last is not None, "an output excerpt before any command",
                  text)
            have, i = normalised(last.stdout), 0
            for line in normalised(text.rstrip("\n")):
                while i < len(have) and have[i] != line:
                    i += 1
                check(i < len(have), "the README shows a line that `%s` does "
                      "not print (or not in this order)" % ran[-1],
                      line, last.stdout)
                i += 1
            continue
        check(lang == "sh", "a quickstart block of language %r" % lang)
        for cmd, want in commands(text):
            argv = shlex.split(cmd)
            if argv[0] == "cd":
                check(len(argv) == 2 and argv[1] == "examples/quickstart",
                      "the quickstart changes to another directory", cmd)
                cwd = qs
                continue
            if argv[0] == "./make-table.sh":
                check(cwd == qs, "make-table.sh run outside its directory")
                argv[0] = os.path.join(qs, "make-table.sh")
                made = os.path.join(qs, argv[1] if len(argv) > 1
                                    else "parcels.db")
            else:
                check(argv[0] == "rollsafe", "a quickstart command that is "
                      "neither rollsafe nor the example's script", cmd)
                argv[0] = ctx.rollsafe
                if run_id:
                    argv = [RUN_ID.sub(run_id, a) for a in argv]
            last = run(ctx, argv, cwd)
            ran.append(cmd)
            check(last.returncode == want,
                  "`%s` exited %d; the README says %d"
                  % (cmd, last.returncode, want), last.stdout, last.stderr)
            m = re.search(r"^\s+run\s+(\S+)$", last.stdout, re.M)
            if m and RUN_ID.fullmatch(m.group(1)):
                run_id = m.group(1)
            if argv[0] != ctx.rollsafe:
                before = table(made)
    subs = [shlex.split(c)[1] for c in ran if c.startswith("rollsafe ")]
    for sub in ("scan", "fix", "restore"):
        check(sub in subs, "the quickstart never runs rollsafe " + sub, ran)
    check(any("--execute" in c for c in ran if c.startswith("rollsafe fix")),
          "the quickstart runs no fix --execute", ran)
    check(any("--execute" in c for c in ran
              if c.startswith("rollsafe restore")),
          "the quickstart runs no restore --execute", ran)
    check(made is not None, "the quickstart never runs make-table.sh")
    check(table(made) == before,
          "after fix and restore the table differs from what make-table.sh "
          "made")

    # What the README says of the table, checked apart from its excerpts: a
    # fresh table, scanned as JSON.
    fresh = os.path.join(ctx.work, "fresh")
    shutil.copytree(src, fresh, ignore=shutil.ignore_patterns("*.db*"))
    p = run(ctx, [os.path.join(fresh, "make-table.sh")], fresh)
    check(p.returncode == 0, "make-table.sh failed", p.stdout, p.stderr)
    p = run(ctx, [ctx.rollsafe, "scan", "-c", "rollsafe.yaml", "--format",
                  "json"], fresh)
    check(p.returncode == 1, "the scan of the fresh table exited %d, not 1"
          % p.returncode, p.stderr)
    doc = json.loads(p.stdout)
    verdicts = doc["totals"]["verdicts"]
    check((verdicts["ok"], verdicts["ignored_fields"], verdicts["unreadable"])
          == (4, 1, 3), "verdicts of the fresh table", verdicts)
    by_version = {}
    for w in doc["targets"][0]["writers"]:
        by_version[w["version"]] = by_version.get(w["version"], 0) + w["rows"]
    check(by_version == {1: 4, 2: 4},
          "the scan does not find the 4 version-2 rows", by_version)
    print("ran: " + "; ".join(ran))


def test_config_keys(ctx):
    source = ctx.read(os.path.join("src", "cli", "config.c"))
    keys = set()
    for m in re.finditer(r"static const char \*const (\w*keys)\[[^\]]*\]\s*="
                         r"\s*\{(.*?)\};", source, re.S):
        keys.update(re.findall(r"\"([a-z_]+)\"", m.group(2)))
    check(len(keys) > 40, "only %d config keys found in src/cli/config.c: is "
          "the parser broken?" % len(keys), sorted(keys))
    doc = ctx.read(os.path.join("docs", "config.md"))
    missing = sorted(k for k in keys if "`%s`" % k not in doc)
    check(not missing, "config keys docs/config.md does not name", *missing)
    print("%d config keys, every one in docs/config.md" % len(keys))


TESTS = {name[5:]: fn for name, fn in sorted(globals().items())
         if name.startswith("test_") and callable(fn)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    if args.case not in TESTS:
        print("no test case %r" % args.case, file=sys.stderr)
        return 1
    args.work = os.path.join(args.work, args.case)
    try:
        TESTS[args.case](Ctx(args))
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
