#!/usr/bin/python3
"""The rollsafe tool's command-line conventions, man pages and completion.

Usage: test_conventions.py --rollsafe BIN --work DIR CASE
Environment: RS_MAN_DIR (the generated man pages), RS_COMPLETION (the
generated bash completion), RS_SCHEMA_DIR (schema/, for diff's inputs).

Each function named test_<case> below is one ctest case,
conventions.<case> (cmake/script_tests.cmake finds them by name):

- options as getopt_long takes them: -oFILE, --opt=value, bundled short
  flags, a value option ending a bundle, and the errors of each;
- -V/--version; -q (no progress or notes on stderr, errors still there);
  the exit codes in every --help; no colour anywhere, NO_COLOR or not;
- .proto schemas compile with no writable TMPDIR;
- the man pages: one per command of `rollsafe --help`, each naming the
  command's summary, its options and the exit codes;
- the bash completion: it offers every command, a command's options, the
  words an option's value may be, files and directories; and every option
  it offers is one its command accepts.

Exit status: 0 passed, 1 failed.
"""

import argparse
import gzip
import os
import re
import shutil
import sqlite3
import subprocess
import sys

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")
SGR = re.compile(r"\x1b\[[0-9;]*m")


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c)[:3000] for c in context))


class Ctx:
    def __init__(self, args):
        self.rollsafe = args.rollsafe
        self.work = args.work
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.man_dir = os.environ.get("RS_MAN_DIR", "")
        self.completion = os.environ.get("RS_COMPLETION", "")
        self.schema = os.environ.get("RS_SCHEMA_DIR", "")

    def run(self, *argv, env=None, cwd=None):
        e = dict(os.environ)
        e.pop("ROLLSAFE_LIST_OPTIONS", None)
        e.update(env or {})
        p = subprocess.run([self.rollsafe, *argv], capture_output=True,
                           env=e, cwd=cwd or self.work, timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:
            check(marker not in err, "sanitizer report from rollsafe %s"
                  % " ".join(argv), err)
        return p.returncode, out, err

    def expect(self, code, *argv, env=None):
        rc, out, err = self.run(*argv, env=env)
        check(rc == code, "rollsafe %s: exit %d, expected %d"
              % (" ".join(argv), rc, code), "stdout: " + out, "stderr: " + err)
        return out, err

    def protos(self):
        check(self.schema, "RS_SCHEMA_DIR is not set")
        return (os.path.join(self.schema, "shop/v1/order.proto"),
                os.path.join(self.schema, "shop/v2/order.proto"))

    def demo(self, rows=40):
        d = os.path.join(self.work, "demo")
        self.expect(0, "demo", "-qfn%d" % rows, d)
        return os.path.join(d, "demo.db")

    def commands(self):
        out, _ = self.expect(0, "--help")
        m = re.search(r"^Commands:\n((?:  [a-z].*\n)+)", out, re.M)
        check(m, "no Commands: in --help", out)
        return [(l.split()[0], l.split(None, 1)[1].strip())
                for l in m.group(1).splitlines()]


def one_line(err, *needles):
    lines = [l for l in err.splitlines() if l.strip()]
    check(len(lines) == 1, "expected one line on stderr", err)
    for n in needles:
        check(n in lines[0], "stderr lacks %r" % n, err)


# ---- options ----------------------------------------------------------------

def test_short_option_with_attached_value(ctx):
    v1, v2 = ctx.protos()
    ctx.expect(1, "diff", "-o" + os.path.join(ctx.work, "a.txt"), v1, v2)
    ctx.expect(1, "diff", "-o", os.path.join(ctx.work, "b.txt"), v1, v2)
    ctx.expect(1, "diff", "--output=" + os.path.join(ctx.work, "c.txt"), v1,
               v2)
    texts = [open(os.path.join(ctx.work, n)).read()
             for n in ("a.txt", "b.txt", "c.txt")]
    check(texts[0] and texts[0] == texts[1] == texts[2],
          "-oFILE, -o FILE and --output=FILE wrote different reports")
    # A value option ends a bundle: -qoFILE and -qo FILE.
    ctx.expect(1, "diff", "-qo" + os.path.join(ctx.work, "d.txt"), v1, v2)
    ctx.expect(1, "diff", "-qo", os.path.join(ctx.work, "e.txt"), v1, v2)
    for n in ("d.txt", "e.txt"):
        check(open(os.path.join(ctx.work, n)).read() == texts[0],
              "%s differs from -oFILE's report" % n)


def test_long_option_with_equals(ctx):
    v1, v2 = ctx.protos()
    out, _ = ctx.expect(1, "diff", "--format=json", "--fail-on=error", v1, v2)
    check(out.lstrip().startswith("{"), "--format=json gave no JSON", out)
    out, _ = ctx.expect(0, "diff", "--format=json", "--fail-on=never", v1, v2)
    _, err = ctx.expect(2, "diff", "--format=yaml", v1, v2)
    one_line(err, "--format", "yaml")
    # An empty value is a value, refused by the option as any other.
    _, err = ctx.expect(2, "diff", "--format=", v1, v2)
    one_line(err, "--format")


def test_bundled_short_flags(ctx):
    d = os.path.join(ctx.work, "demo")
    out, _ = ctx.expect(0, "demo", "-n", "30", d)
    # -f (force), -q and -n VALUE bundled, the value attached and apart.
    _, err = ctx.expect(2, "demo", "-n", "25", d)
    one_line(err, "--force")
    ctx.expect(0, "demo", "-qfn25", d)
    rows = sqlite3.connect(os.path.join(d, "demo.db")).execute(
        "SELECT count(*) FROM orders").fetchone()[0]
    check(rows == 25, "demo -qfn25 wrote %d rows" % rows)
    ctx.expect(0, "demo", "-fqn", "35", d)
    rows = sqlite3.connect(os.path.join(d, "demo.db")).execute(
        "SELECT count(*) FROM orders").fetchone()[0]
    check(rows == 35, "demo -fqn 35 wrote %d rows" % rows)


def test_bundle_errors_name_the_option(ctx):
    _, err = ctx.expect(2, "scan", "-qz")
    one_line(err, "unknown option '-z' in '-qz'", "rollsafe scan --help")
    _, err = ctx.expect(2, "scan", "-z")
    one_line(err, "unknown option '-z'")
    v1, v2 = ctx.protos()
    _, err = ctx.expect(2, "diff", v1, v2, "-qo")
    one_line(err, "option '-o' needs a value")
    _, err = ctx.expect(2, "demo", "-fx", ctx.work)
    one_line(err, "'-x' in '-fx'")
    _, err = ctx.expect(2, "diff", "--quiet=yes", v1, v2)
    one_line(err, "--quiet", "takes no value")
    # "--" ends the options: "-q" after it is an argument.
    _, err = ctx.expect(2, "inspect", "--", "-q", "extra")
    one_line(err, "'extra'")


def test_version(ctx):
    for flag in ("-V", "--version"):
        out, err = ctx.expect(0, flag)
        check(re.fullmatch(r"rollsafe \d+\.\d+\.\d+\n", out),
              "%s printed %r" % (flag, out))
        check(err == "", "%s wrote on stderr" % flag, err)
    _, err = ctx.expect(2, "-V", "scan")
    one_line(err, "'scan'")
    out, _ = ctx.expect(0, "--help")
    check("-V, --version" in out, "--help does not list -V", out)


def test_quiet_keeps_errors_drops_notes(ctx):
    db = ctx.demo()
    scan = ["scan", "--sqlite", db, "--table", "orders", "--column",
            "payload", "--type", "shop.Order", "--where", "id < 0"]
    # Nothing selected: inconclusive (exit 4), and a note says why...
    out, err = ctx.expect(4, *scan)
    check("nothing" in err.lower() or "inconclusive" in err.lower(),
          "no note on an empty selection", err)
    # ...which -q (and --quiet, and -q in a bundle) leaves out; the report
    # on stdout is the same.
    for q in (["-q"], ["--quiet"]):
        qout, qerr = ctx.expect(4, *(scan + q))
        check(qerr == "", "%s still wrote on stderr" % q[0], qerr)
        check(qout.replace("\n", "") and
              re.sub(r"[0-9.]+ ?s\b", "", qout) ==
              re.sub(r"[0-9.]+ ?s\b", "", out),
              "%s changed the report" % q[0], qout, out)
    # Errors are still printed.
    _, err = ctx.expect(3, "scan", "-q", "--sqlite",
                        os.path.join(ctx.work, "missing", "x.db"),
                        "--table", "orders", "--column", "payload",
                        "--type", "shop.Order")
    check("x.db" in err, "-q hid the error", err)
    _, err = ctx.expect(2, "scan", "-q", "--frobnicate")
    one_line(err, "--frobnicate")


def test_every_help_lists_the_exit_codes(ctx):
    out, _ = ctx.expect(0, "--help")
    for code in range(5):
        check(re.search(r"^  %d  \S" % code, out, re.M),
              "rollsafe --help lacks exit code %d" % code, out)
    for cmd, _ in ctx.commands():
        out, _ = ctx.expect(0, cmd, "--help")
        check("Exit status" in out, "%s --help lists no exit status" % cmd,
              out)
        for code in (0, 2):
            check(re.search(r"(^|\s|;)%d\s" % code, out.split(
                "Exit status", 1)[1]),
                  "%s --help lacks exit code %d" % (cmd, code), out)
        check(re.search(r"^\s+-q, --quiet\b|-q\b", out, re.M),
              "%s --help does not mention -q" % cmd, out)
        # help CMD is the same text.
        again, _ = ctx.expect(0, "help", cmd)
        check(again == out, "'help %s' differs from '%s --help'" % (cmd, cmd))


def test_no_colour_whatever_no_color_says(ctx):
    db = ctx.demo()
    runs = [["--help"], ["scan", "--help"],
            ["scan", "--sqlite", db, "--table", "orders", "--column",
             "payload", "--type", "shop.Order"]]
    for env in ({}, {"NO_COLOR": "1"}, {"TERM": "xterm-256color"}):
        for argv in runs:
            rc, out, err = ctx.run(*argv, env=env)
            check(rc in (0, 1), "rollsafe %s: exit %d" % (" ".join(argv), rc),
                  err)
            check(not SGR.search(out) and not SGR.search(err),
                  "colour in rollsafe %s (%s)" % (" ".join(argv), env))
    out, _ = ctx.expect(0, "--help")
    check("NO_COLOR" in out, "--help does not say NO_COLOR is honoured")


def test_proto_schemas_need_no_temporary_directory(ctx):
    v1, v2 = ctx.protos()
    # No TMPDIR can be written: .proto schemas compile all the same.
    for tmpdir in ("/nonexistent/rollsafe-tmp", "/proc"):
        out, err = ctx.expect(1, "diff", "--format=json", v1, v2,
                              env={"TMPDIR": tmpdir})
        check('"FIELD_' in out, "diff found nothing with TMPDIR=%s" % tmpdir,
              out, err)
    # And nothing is written to a TMPDIR that can be.
    empty = os.path.join(ctx.work, "tmp")
    os.makedirs(empty)
    ctx.expect(1, "diff", v1, v2, env={"TMPDIR": empty})
    check(os.listdir(empty) == [], "files left in TMPDIR",
          os.listdir(empty))
    # protoc's own complaint still comes through, on one line.
    bad = os.path.join(ctx.work, "bad.proto")
    with open(bad, "w") as f:
        f.write('syntax = "proto3";\nmessage A { int32 x = 1 }\n')
    _, err = ctx.expect(2, "diff", bad, v2, env={"TMPDIR": "/nonexistent"})
    one_line(err, "bad.proto", "failed", 'Expected ";"')


# ---- man pages --------------------------------------------------------------

def roff_text(path):
    text = open(path, encoding="utf-8").read()
    text = text.replace("\\-", "-")
    return re.sub(r"\\f[BIRP]|\\/|\\,", "", text)


def test_man_pages(ctx):
    check(ctx.man_dir and os.path.isdir(ctx.man_dir),
          "RS_MAN_DIR is not a directory: %r" % ctx.man_dir)
    version, _ = ctx.expect(0, "--version")
    version = version.split()[1]
    pages = sorted(p for p in os.listdir(ctx.man_dir) if p.endswith(".1"))
    for p in pages:
        with gzip.open(os.path.join(ctx.man_dir, p + ".gz"), "rb") as z:
            check(z.read() == open(os.path.join(ctx.man_dir, p), "rb").read(),
                  "%s.gz is not %s compressed" % (p, p))
    commands = ctx.commands()
    want = sorted(["rollsafe.1"] + ["rollsafe-%s.1" % c for c, _ in commands])
    check(pages == want, "man pages are not one per command", pages, want)
    main = roff_text(os.path.join(ctx.man_dir, "rollsafe.1"))
    check(re.search(r'^\.TH ROLLSAFE "1"', main, re.M), "rollsafe.1 header")
    for c, _ in commands:
        check("rollsafe-%s (1)" % c in main, "rollsafe.1 lacks rollsafe-%s(1)"
              % c)
    for c, summary in commands:
        page = roff_text(os.path.join(ctx.man_dir, "rollsafe-%s.1" % c))
        check(re.search(r'^\.TH ROLLSAFE-%s "1" "[^"]*" "rollsafe %s"'
                        % (c.upper(), re.escape(version)), page, re.M),
              "rollsafe-%s.1: header" % c, page[:400])
        name = re.search(r"^\.SH NAME\n(.*)$", page, re.M)
        check(name and name.group(1) == "rollsafe-%s - %s" % (c, summary),
              "rollsafe-%s.1: NAME is not the summary" % c,
              name and name.group(1), summary)
        check(".SH SYNOPSIS" in page, "rollsafe-%s.1 has no SYNOPSIS" % c)
        check("rollsafe (1)" in page, "rollsafe-%s.1: no SEE ALSO" % c)
        help_text, _ = ctx.expect(0, c, "--help")
        for opt in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*",
                                         help_text))):
            check(opt in page, "rollsafe-%s.1 lacks %s" % (c, opt))
        check("Exit status" in page, "rollsafe-%s.1 lacks the exit status"
              % c)
    # Rendered by man itself, when it is there: no warnings.
    if shutil.which("man"):
        p = subprocess.run(["man", "--warnings", "-l", "-E", "UTF-8",
                            os.path.join(ctx.man_dir, "rollsafe-scan.1")],
                           capture_output=True, env=dict(os.environ,
                                                         MANWIDTH="80"))
        check(p.returncode == 0 and b"--sqlite" in p.stdout,
              "man cannot render rollsafe-scan.1", p.stderr)


# ---- bash completion --------------------------------------------------------

def complete(ctx, line, cwd=None):
    """The completions bash offers for `line` (the cursor at its end)."""
    words = line.split(" ")
    script = ('source "$1"; shift; COMP_WORDS=("$@"); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
              'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; '
              '_rollsafe; printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "-c", script, "bash", ctx.completion]
                       + words, capture_output=True, cwd=cwd or ctx.work,
                       timeout=60)
    check(p.returncode == 0, "completion of %r failed" % line, p.stderr)
    return [w for w in p.stdout.decode().split("\n") if w]


def test_completion_offers_commands_and_options(ctx):
    check(ctx.completion and os.path.isfile(ctx.completion),
          "RS_COMPLETION is not a file: %r" % ctx.completion)
    p = subprocess.run(["bash", "-n", ctx.completion], capture_output=True)
    check(p.returncode == 0, "the completion is not valid bash", p.stderr)
    commands = [c for c, _ in ctx.commands()]
    offered = complete(ctx, "rollsafe ")
    for c in commands:
        check(c in offered, "'rollsafe <TAB>' does not offer %s" % c, offered)
    check(complete(ctx, "rollsafe sc") == ["scan"], "'rollsafe sc' is not scan")
    check(complete(ctx, "rollsafe help di") == ["diff"], "help di")
    check("--version" in complete(ctx, "rollsafe --"), "no --version")
    check(complete(ctx, "rollsafe scan --sq") == ["--sqlite"], "--sq")
    check("--execute" in complete(ctx, "rollsafe fix --ex"), "fix --execute")
    check("--execute" not in complete(ctx, "rollsafe runs --"),
          "runs is offered --execute, which does not apply to it")
    check("--run" in complete(ctx, "rollsafe restore --r"), "restore --run")
    opts = complete(ctx, "rollsafe scan -")
    for o in ("--config", "-c", "--format", "-o", "--output", "-q",
              "--help", "--reader-version", "--schema"):
        check(o in opts, "scan does not offer %s" % o, opts)
    # Values: the words an option takes, files, directories.
    check(complete(ctx, "rollsafe diff --format ") == ["text", "json",
                                                        "sarif"],
          "diff --format", complete(ctx, "rollsafe diff --format "))
    check(complete(ctx, "rollsafe scan --format ") == ["text", "json"],
          "scan --format")
    check(complete(ctx, "rollsafe scan --format=j") == ["json"],
          "--format=j", complete(ctx, "rollsafe scan --format=j"))
    check(complete(ctx, "rollsafe scan --format = ") == ["text", "json"],
          "--format = (bash's own split)")
    check(complete(ctx, "rollsafe scan --reader-framing e") == ["envelope"],
          "--reader-framing")
    os.makedirs(os.path.join(ctx.work, "cfgdir"))
    open(os.path.join(ctx.work, "config.yaml"), "w").close()
    check(complete(ctx, "rollsafe scan -c conf") == ["config.yaml"],
          "-c completes no file", complete(ctx, "rollsafe scan -c conf"))
    check(complete(ctx, "rollsafe diff -I cf") == ["cfgdir"], "-I dirs")
    check(complete(ctx, "rollsafe diff -I conf") == [],
          "-I offers a file", complete(ctx, "rollsafe diff -I conf"))
    check(complete(ctx, "rollsafe scan --table ") == [],
          "--table offers something", complete(ctx, "rollsafe scan --table "))


def test_completion_offers_only_accepted_options(ctx):
    """Every option the completion offers, and every word it offers for a
    value, is taken by its command: none is unknown or refused as not
    applying."""
    commands = [c for c, _ in ctx.commands()]
    scratch = os.path.join(ctx.work, "scratch")
    os.makedirs(scratch)
    for c in commands:
        opts = complete(ctx, "rollsafe %s -" % c)
        check(len(opts) >= 3, "%s: only %r offered" % (c, opts))
        for o in opts:
            kind = subprocess.run(
                ["bash", "-c", 'source "$1"; _rollsafe_kind "$2" "$3"',
                 "bash", ctx.completion, c, o],
                capture_output=True).stdout.decode()
            if kind:
                values = kind[len("words:"):].split() if kind.startswith(
                    "words:") else ["x"]
                argvs = [[c, o, v, "--help"] for v in values]
            else:
                argvs = [[c, o, "--help"]]
            for argv in argvs:
                rc, out, err = ctx.run(*argv, cwd=scratch)
                for bad in ("unknown option", "does not apply", "invalid --"):
                    if bad == "invalid --" and not kind.startswith("words:"):
                        continue
                    check(bad not in err, "rollsafe %s: %s" % (
                        " ".join(argv), bad), err)
    check(os.listdir(scratch) == [], "options offered wrote files",
          os.listdir(scratch))


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
