#!/usr/bin/env python3
"""A password given to rollsafe in every way a connection string can carry
one never appears in what rollsafe writes or what the server logs.

Against the real PostgreSQL server of the test suite (ctest fixture
pg_server): its role rs_pw must give the password rs-pw-secret
(tests/pg/pg_server.sh), which is the marker searched for everywhere.

Usage: test_secrets_postgres.py --rollsafe BIN --work DIR CASE
"""

import glob
import json
import os
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Failure, Records, check, check_eq, run_cases  # noqa: E402
from test_fix_sqlite import COUNTS  # noqa: E402
from test_scan_postgres import conninfo  # noqa: E402

ROLE = "rs_pw"
MARKER = "rs-pw-secret"  # the role's password (pg_server.sh)
DATABASE = "rs_secrets"  # owned by the role: its fixes make rollsafe's schema


def conn_params():
    """host (the socket directory) and port of the test server."""
    params = dict(p.split("=", 1) for p in conninfo().split())
    return params["host"], params["port"]


def server_log():
    """The server's log (pg_server.sh keeps it beside the socket
    directory)."""
    host, _ = conn_params()
    path = os.path.join(os.path.dirname(host.rstrip("/")), "server.log")
    if not os.path.exists(path):
        raise Failure("no server log at %s" % path)
    with open(path, "rb") as f:
        return f.read()


def make_database(recs):
    """A fresh database owned by the role, with a table of mixed records."""
    admin = psycopg2.connect(conninfo())
    admin.autocommit = True
    with admin.cursor() as c:
        c.execute("DROP DATABASE IF EXISTS %s" % DATABASE)
        c.execute("CREATE DATABASE %s OWNER %s" % (DATABASE, ROLE))
    admin.close()
    host, port = conn_params()
    db = psycopg2.connect(host=host, port=port, dbname=DATABASE,
                          user="postgres")
    db.autocommit = True
    kinds = [k for k, n in COUNTS.items() for _ in range(n)]
    with db.cursor() as c:
        c.execute("CREATE TABLE orders (id bigint PRIMARY KEY, payload bytea)")
        c.executemany("INSERT INTO orders VALUES (%s, %s)",
                      [(i + 1, psycopg2.Binary(recs.make(k, i + 1)))
                       for i, k in enumerate(kinds)])
        c.execute("ALTER TABLE orders OWNER TO %s" % ROLE)
    return db


def rollsafe_tables_text(db):
    """Every row of every table in the schema rollsafe, as text."""
    with db.cursor() as c:
        c.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                  "ON n.oid = c.relnamespace WHERE n.nspname = 'rollsafe' "
                  "AND c.relkind = 'r'")
        tables = [t for (t,) in c.fetchall()]
        check("runs" in tables, "rollsafe.runs exists", tables)
        text = []
        for t in tables:
            c.execute('SELECT t::text FROM rollsafe."%s" t' % t)
            text += [row for (row,) in c.fetchall()]
    return "\n".join(text)


TARGET = ["--table", "orders", "--key", "id", "--column", "payload",
          "--type", "shop.Order"]


def out_dir(r):
    """Where rollsafe's reports go (the configs given to it stay apart)."""
    path = os.path.join(r.work, "out")
    os.makedirs(path, exist_ok=True)
    return path


class Seen:
    """Everything rollsafe printed or wrote, to search for the marker."""

    def __init__(self, r):
        self.r = r
        self.texts = []
        self.n = 0

    def run(self, code, *argv, env=None):
        out, err = self.r.expect(code, *argv, env=env)
        self.texts += [out, err]
        return out, err

    def reports(self, cmd, *argv, env=None, code):
        """Runs @cmd once per report format, each with a metrics file."""
        for fmt in ("text", "json"):
            self.n += 1
            base = os.path.join(out_dir(self.r), "%s-%d" % (cmd, self.n))
            self.run(code, cmd, *argv, "--format", fmt, "-o", base + "." + fmt,
                     "--metrics", base + ".prom", env=env)

    def files(self):
        paths = sorted(glob.glob(os.path.join(out_dir(self.r), "*")))
        check(len(paths) >= 4, "report files were written", paths)
        for p in paths:
            with open(p, "rb") as f:
                yield p, f.read()


def env_with(**kw):
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    env["PGPASSFILE"] = "/nonexistent/rollsafe-no-pgpass"
    env.update(kw)
    return env


def refused_forms(host, port):
    """Connection strings holding the password, for the command line and a
    config file's connection: each is refused."""
    base = "host=%s port=%s dbname=%s user=%s" % (host, port, DATABASE, ROLE)
    return [
        base + " password=" + MARKER,
        base + " password='" + MARKER + "'",
        "host=%s options='-c x' password=%s dbname=%s" % (host, MARKER,
                                                          DATABASE),
        base.replace("dbname=" + DATABASE,
                     "dbname='x password=%s'" % MARKER),
        "postgresql://%s:%s@/%s?host=%s&port=%s" % (ROLE, MARKER, DATABASE,
                                                    host, port),
        "postgresql:///%s?host=%s&port=%s&user=%s&password=%s" % (
            DATABASE, host, port, ROLE, MARKER),
        "dbname='postgresql://%s:%s@/%s'" % (ROLE, MARKER, DATABASE),
    ]


def allowed_forms(host, port):
    """Connection strings from the environment that carry the password."""
    return [
        "host=%s port=%s dbname=%s user=%s password=%s" % (
            host, port, DATABASE, ROLE, MARKER),
        "host='%s' port=%s dbname='%s' user=%s password='%s'" % (
            host, port, DATABASE, ROLE, MARKER),
        "postgresql://%s:%s@/%s?host=%s&port=%s" % (ROLE, MARKER, DATABASE,
                                                    host, port),
        "postgresql:///%s?host=%s&port=%s&user=%s&password=%s" % (
            DATABASE, host, port, ROLE, MARKER),
    ]


def write_config(r, name, connection=None, env_name=None):
    os.makedirs(os.path.join(r.work, "in"), exist_ok=True)
    path = os.path.join(r.work, "in", name)
    line = ("connection_env: %s" % env_name if env_name
            else "connection: \"%s\"" % connection.replace('"', '\\"'))
    with open(path, "w") as f:
        f.write("targets:\n  - name: orders\n    kind: postgres-table\n"
                "    %s\n    table: orders\n    key: id\n"
                "    column: payload\n    type: shop.Order\n" % line)
    return path


def test_password_never_printed(r):
    recs = Records()
    db = make_database(recs)
    host, port = conn_params()
    seen = Seen(r)
    env = env_with()
    log_before = len(server_log())

    # On the command line and in a config file: refused, with where to put
    # it, and never echoed.
    for i, conn in enumerate(refused_forms(host, port)):
        _, err = seen.run(2, "scan", "--postgres", conn, *TARGET, env=env)
        check("PGPASSWORD" in err or "inside the connection string" in err,
              "the refusal says why", conn, err)
        cfg = write_config(r, "refused-%d.yaml" % i, connection=conn)
        seen.run(2, "fix", "-c", cfg, env=env)

    # From the environment, in every form: used (a password-authenticated
    # role), never shown: scan, a dry-run fix, a fix, runs, a restore.
    run_ids = []
    for i, conn in enumerate(allowed_forms(host, port)):
        env = env_with(RS_SECRET_DB=conn)
        seen.reports("scan", "--postgres-env", "RS_SECRET_DB", *TARGET,
                     env=env, code=1)
        cfg = write_config(r, "env-%d.yaml" % i, env_name="RS_SECRET_DB")
        seen.reports("scan", "-c", cfg, env=env, code=1)
        seen.reports("fix", "-c", cfg, env=env, code=1)
        out, _ = seen.run(1, "fix", "--postgres-env", "RS_SECRET_DB", *TARGET,
                          "--execute", "--format", "json", "-o",
                          os.path.join(out_dir(r), "fix-execute-%d.json" % i),
                          "--metrics",
                          os.path.join(out_dir(r), "fix-execute-%d.prom" % i),
                          env=env)
        seen.run(0, "runs", "-c", cfg, env=env)
        with open(os.path.join(out_dir(r), "fix-execute-%d.json" % i)) as f:
            run_ids.append(__import__("json").load(f)["run_id"])
    check_eq(len(set(run_ids)), len(allowed_forms(host, port)), "runs made")
    seen.run(0, "restore", "--postgres-env", "RS_SECRET_DB", *TARGET,
             "--run", run_ids[0], "--execute", env=env)

    for i, text in enumerate(seen.texts):
        check(MARKER not in text, "output %d holds the password" % i, text)
    for path, data in seen.files():
        check(MARKER.encode() not in data, "%s holds the password" % path)
    check(MARKER not in rollsafe_tables_text(db),
          "rollsafe's tables hold the password")
    # Other tests share the server and its log (some fail to authenticate
    # on purpose): only the marker is searched for there.
    log = server_log()[log_before:]
    check(MARKER.encode() not in log, "the server log holds the password",
          log[-3000:])
    db.close()


TESTS = {name[5:]: f for name, f in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
