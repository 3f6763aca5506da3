#!/usr/bin/python3
"""bench/report.py: the checks and the table of bench/run.

    report.py check  ...   the scanners' counts against what bench/gen wrote
    report.py report ...   the measurements and the ratios against targets

Called by bench/run; see bench/README.md. A result file has one line per
run, as bench/measure writes it: wall seconds, user CPU seconds, system
CPU seconds, max RSS in KiB, exit status.
"""
import argparse
import json
import statistics
import sys

# name: (label, which data set)
COMMANDS = {
    "rs_pg": ("rollsafe scan --postgres", "small"),
    "psql_copy": ("psql \\copy binary to /dev/null", "small"),
    "py_psycopg2": ("Python psycopg2 + protobuf", "small"),
    "rs_sqlite": ("rollsafe scan --sqlite", "small"),
    "sqlite_loop": ("C loop: SQLite + protobuf-c", "small"),
    "rs_pg_big": ("rollsafe scan --postgres", "big"),
    "rs_sqlite_big": ("rollsafe scan --sqlite", "big"),
    "rs_sqlite_j2": ("rollsafe scan --jobs 2 --sqlite", "small"),
    "rs_pg_j2": ("rollsafe scan --jobs 2 --postgres", "small"),
    "rs_sqlite_env": ("scan --sqlite, envelope reader", "small"),
    "sqlite_touch": ("C loop: SQLite, touch every byte", "small"),
    "rs_pg_env": ("scan --postgres, envelope reader", "small"),
    "rs_sqlite_j4": ("rollsafe scan --jobs 4 --sqlite", "small"),
    "rs_pg_j4": ("rollsafe scan --jobs 4 --postgres", "small"),
    "rs_sqlite_big_j2": ("rollsafe scan --jobs 2 --sqlite", "big"),
    "rs_sqlite_big_j4": ("rollsafe scan --jobs 4 --sqlite", "big"),
    "rs_pg_big_j2": ("rollsafe scan --jobs 2 --postgres", "big"),
    "rs_pg_big_j4": ("rollsafe scan --jobs 4 --postgres", "big"),
    "rs_fix_pg": ("rollsafe fix --execute --postgres", "fix"),
    "rs_fix_pg_j2": ("rollsafe fix --execute --jobs 2", "fix"),
    "pg_update": ("UPDATE ... FROM unnest, same bytes", "fix"),
}


def parse_gen(path):
    """The key=value pairs of bench/gen's summary, prefixed by context."""
    out = {}
    for line in open(path):
        prefix = ""
        for tok in line.split():
            if tok.endswith("-reader"):
                prefix = tok[: -len("-reader")] + "."
            elif "=" in tok:
                k, v = tok.rstrip(";").split("=", 1)
                try:
                    out[prefix + k] = float(v) if "." in v else int(v)
                except ValueError:
                    pass
    return out


def kv_file(path):
    out = {}
    for tok in open(path).read().split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = int(v)
    return out


def check(args):
    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append("%s: %r, expected %r" % (what, got, want))

    for size, gen_path, n in (("small", args.gen_small, args.rows),
                              ("big", args.gen_big, args.big_rows)):
        g = parse_gen(gen_path)
        expect("gen %s rows" % size, g.get("rows"), n)
        suffix = "" if size == "small" else "_big"
        names = ["rs_pg", "rs_sqlite"] + [
            "rs_%s_j%d" % (db, j) for db in ("pg", "sqlite") for j in (2, 4)]
        for name in names:
            if size == "small":
                path = "%s/%s.json" % (args.out, name)
            else:
                path = "%s/%s" % (args.out, name.replace("_j", "_big_j")
                                  if "_j" in name else name + "_big")
                path += ".json"
            rep = json.load(open(path))
            tot = rep["totals"]
            expect(path + " complete", rep["complete"], True)
            expect(path + " rows_counted", tot["rows_counted"], n)
            expect(path + " ok", tot["verdicts"]["ok"], g["raw.ok"])
            expect(path + " unreadable", tot["verdicts"]["unreadable"],
                   g["raw.unreadable"])
        if size != "small":
            continue
        # The envelope-aware reader reads every version-1 record, and the
        # envelopes as gen says that reader reads them.
        for name in ("rs_sqlite_env", "rs_pg_env"):
            path = "%s/%s.json" % (args.out, name)
            rep = json.load(open(path))
            tot = rep["totals"]
            expect(path + " complete", rep["complete"], True)
            expect(path + " rows_counted", tot["rows_counted"], n)
            expect(path + " ok", tot["verdicts"]["ok"],
                   g["v1"] + g["envelope.ok"])
            for v in ("ignored_fields", "misread", "unreadable"):
                expect(path + " " + v, tot["verdicts"][v], g["envelope." + v])
        touch = kv_file(args.out + "/sqlite_touch.txt")
        expect("sqlite_loop --touch rows", touch.get("rows"), n)
        # fix rewrote what the plain UPDATE wrote (bench/run compared the
        # tables' bytes).
        fix = json.load(open(args.out + "/rs_fix_pg.json"))
        upd = kv_file(args.out + "/pg_update.txt")
        expect("fix complete", fix["complete"], True)
        expect("fix rows_read", fix["targets"][0]["rows_read"], n)
        expect("pg_update rows updated", upd.get("updated"),
               fix["rewritten"])
        loop = kv_file(args.out + "/sqlite_loop.txt")
        expect("sqlite_loop rows", loop.get("rows"), n)
        expect("sqlite_loop unpacked", loop.get("unpacked"), g["v1"])
        py = kv_file(args.out + "/py_psycopg2.txt")
        expect("python rows", py.get("rows"), n)
        expect("python raw_ok", py.get("raw_ok"), g["v1"])
        expect("python envelope_ok", py.get("envelope_ok"), g["envelope.ok"])
        expect("python envelopes",
               py.get("envelope_ok", 0) + py.get("envelope_unknown", 0)
               + py.get("envelope_error", 0), g["v2"])
        expect("python envelope_error (guest orders)",
               py.get("envelope_error"), g["guest"])
    # The two fixes rewrite the same rows (each of a fresh copy), and
    # report what one fix reports.
    fixes = [json.load(open("%s/%s.json" % (args.out, name)))
             for name in ("rs_fix_pg", "rs_fix_pg_j2")]
    for key in ("rewritten", "remaining", "impossible", "corrupt",
                "undetermined"):
        expect("fix --jobs 2 " + key, fixes[1][key], fixes[0][key])
    expect("fix rows read", fixes[0]["targets"][0]["rows_read"],
           args.fix_rows)
    expect("fix --jobs 2 rows read", fixes[1]["targets"][0]["rows_read"],
           args.fix_rows)
    for p in problems:
        print("check: " + p)
    if not problems:
        print("check: every scanner counted what bench/gen wrote")
    return 1 if problems else 0


def read_runs(path):
    runs = []
    for line in open(path):
        wall, user, sys_, rss, status = line.split()
        runs.append({"wall": float(wall), "cpu": float(user) + float(sys_),
                     "rss": int(rss), "status": int(status)})
    return runs


def fmt_int(n):
    return "{:,}".format(n)


def report(args):
    g = parse_gen(args.gen_small)
    rows = {"small": args.rows, "big": args.big_rows}
    upd = kv_file(args.out + "/pg_update.txt")
    rows["fix"] = upd["updated"]
    m = {}
    for name in COMMANDS:
        runs = read_runs("%s/%s.txt" % (args.results, name))
        walls = [r["wall"] for r in runs]
        m[name] = {
            "best": min(walls), "median": statistics.median(walls),
            "max": max(walls),
            "cpu": statistics.median(r["cpu"] for r in runs),
            "rss": max(r["rss"] for r in runs),
        }
    cmds = dict(line.rstrip("\n").split("\t", 1)
                for line in open(args.commands) if "\t" in line)

    out = []
    out.append(open(args.header).read().rstrip("\n"))
    load_small = open(args.load_small).read().strip()
    load_big = open(args.load_big).read().strip()
    out.append(
        "data      N = %s rows (SQLite file small.db, PostgreSQL table t), "
        "M = %s rows (big.db, t_big); %.1f%% v1 raw, %.1f%% v2 envelopes "
        "(checkout_v2=on);"
        % (fmt_int(args.rows), fmt_int(args.big_rows),
           100.0 * g["v1"] / g["rows"], 100.0 * g["v2"] / g["rows"]))
    out.append(
        "          %.1f bytes per record on average (v1 %.1f, v2 %.1f); "
        "generated and loaded in %s s (N) and %s s (M)"
        % (g["avg_bytes"], g["avg_v1"], g["avg_v2"], load_small, load_big))
    out.append(
        "          fix: the %s rows of t, copied afresh to t_fix (t_upd for "
        "the UPDATE) before each run (not timed)" % fmt_int(args.fix_rows))
    out.append(
        "method    every command run once first as a warm-up (not timed: OS "
        "page cache and PostgreSQL")
    out.append(
        "          buffers warm), then %d timed rounds, the commands "
        "interleaved in each round; wall time" % args.runs)
    out.append(
        "          by a monotonic clock, CPU and max RSS of the client "
        "process from wait4 (not the server's);")
    out.append(
        "          timing ratios use the best of %d runs, the median in "
        "brackets; RSS ratios the largest max RSS" % args.runs)
    out.append("")
    hdr = "%-16s %-34s %10s %8s %8s %8s %10s %7s %9s" % (
        "measurement", "", "rows", "best s", "median s", "max s",
        "rows/s", "CPU s", "max RSS")
    out.append(hdr)
    for name, (label, size) in COMMANDS.items():
        r = m[name]
        out.append("%-16s %-34s %10s %8.3f %8.3f %8.3f %10s %7.2f %6.1f MiB" % (
            name, label, fmt_int(rows[size]), r["best"], r["median"],
            r["max"], fmt_int(int(rows[size] / r["best"])), r["cpu"],
            r["rss"] / 1024.0))
    out.append("")

    ratios = []

    def timing(label, num, den, target, at_most):
        best = m[num]["best"] / m[den]["best"]
        med = m[num]["median"] / m[den]["median"]
        ratios.append((label, "%.2f" % best, "(%.2f)" % med,
                       ("<= " if at_most else ">= ") + "%.2f" % target,
                       best <= target if at_most else best >= target))

    def memory(label, big, small, target):
        r = m[big]["rss"] / m[small]["rss"]
        ratios.append((label, "%.2f" % r, "", "<= %.2f" % target, r <= target))


    timing("1  PostgreSQL: rollsafe scan / psql \\copy binary",
           "rs_pg", "psql_copy", 1.3, True)
    timing("1b PostgreSQL, envelope reader: scan / psql \\copy binary",
           "rs_pg_env", "psql_copy", 1.0, True)
    timing("2  SQLite: rollsafe scan / C loop (protobuf-c unpack)",
           "rs_sqlite", "sqlite_loop", 1.2, True)
    timing("2b SQLite, envelope reader: scan / C loop touching every byte",
           "rs_sqlite_env", "sqlite_touch", 1.5, True)
    timing("3  Python (psycopg2 + protobuf) / rollsafe scan, PostgreSQL",
           "py_psycopg2", "rs_pg", 7.0, False)
    memory("4a max RSS of rollsafe scan --postgres, M rows / N rows",
           "rs_pg_big", "rs_pg", 1.10)
    memory("4b max RSS of rollsafe scan --sqlite, M rows / N rows",
           "rs_sqlite_big", "rs_sqlite", 1.10)
    for j in (2, 4):
        memory("4%s the same at --jobs %d, --postgres" % ("ce"[j // 4], j),
               "rs_pg_big_j%d" % j, "rs_pg_j%d" % j, 1.10)
        memory("4%s the same at --jobs %d, --sqlite" % ("df"[j // 4], j),
               "rs_sqlite_big_j%d" % j, "rs_sqlite_j%d" % j, 1.10)
    # Speed-up: rows/s at --jobs 2 over --jobs 1, i.e. the inverse ratio
    # of their times.
    timing("5a SQLite: rows/s of --jobs 2 / --jobs 1",
           "rs_sqlite", "rs_sqlite_j2", 1.7, False)
    timing("5b PostgreSQL: rows/s of --jobs 2 / --jobs 1",
           "rs_pg", "rs_pg_j2", 1.0, False)
    timing("5c PostgreSQL fix --execute: rows/s of --jobs 2 / --jobs 1",
           "rs_fix_pg", "rs_fix_pg_j2", 1.0, False)
    # Rows written per second: both write the same rows, so the inverse
    # ratio of their times.
    timing("6  PostgreSQL: rows/s of fix / of UPDATE ... unnest",
           "pg_update", "rs_fix_pg", 0.7, False)
    out.append("%-60s %6s %8s %8s  %s" % ("ratio", "value", "(median)",
                                          "target", "result"))
    for label, val, med, target, ok in ratios:
        out.append("%-60s %6s %8s %8s  %s" % (label, val, med, target,
                                              "PASS" if ok else "MISS"))
    missed = sum(1 for r in ratios if not r[4])
    out.append("")
    out.append("%d of %d ratios meet their targets" % (len(ratios) - missed,
                                                      len(ratios)))
    out.append("")
    out.append("--jobs curve: rows/s over those of --jobs 1, best (median), "
               "and max RSS")
    for db, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
        for size, suffix in (("N", ""), ("M", "_big")):
            one = "rs_%s%s" % (db, suffix)
            cells = []
            for j in (1, 2, 4):
                name = one if j == 1 else "rs_%s%s_j%d" % (db, suffix, j)
                cells.append("--jobs %d %5.2f (%5.2f) %5.1f MiB" % (
                    j, m[one]["best"] / m[name]["best"],
                    m[one]["median"] / m[name]["median"],
                    m[name]["rss"] / 1024.0))
            out.append("  %-10s %s rows: %s" % (label, size,
                                                 ";  ".join(cells)))
    out.append("")
    out.append("commands (run from the repository root; CONNINFO as above):")
    for name in COMMANDS:
        out.append("  %-16s %s" % (name, cmds.get(name, "?")))
    print("\n".join(out))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("check", "report"))
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--big-rows", type=int, required=True)
    ap.add_argument("--fix-rows", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--results")
    ap.add_argument("--gen-small", required=True)
    ap.add_argument("--gen-big", required=True)
    ap.add_argument("--load-small")
    ap.add_argument("--load-big")
    ap.add_argument("--header")
    ap.add_argument("--commands")
    args = ap.parse_args()
    return check(args) if args.what == "check" else report(args)


if __name__ == "__main__":
    sys.exit(main())
