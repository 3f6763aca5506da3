/*
 * src/store/pg_trust.c: what the PostgreSQL writer trusts (the schema
 * rollsafe), what it tells the operator about (triggers, rules and
 * policies on the target), and its run leases (advisory locks).
 *
 * Why the schema is checked: a fix runs with the rights of the role it
 * connects as, often a superuser. A trigger on rollsafe.runs, a function a
 * default or a rule calls, or a table another role may change runs or is
 * read with those rights. A role allowed only CREATE on the database could
 * otherwise plant the schema with a trigger before the first fix and be
 * made a superuser by it. So everything in the schema must belong to the
 * role the fix connects as, be of the kinds rollsafe makes (tables and
 * their indexes), carry no trigger, rule or policy, and be changeable by
 * no other role. Objects are named in messages as the server prints them
 * (regclass, regprocedure), control bytes replaced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* One line of @p src into @p dst, control bytes as '?'. */
static void printable_line(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  for (; src != NULL && src[n] != '\0' && n + 1 < cap; n++) {
    unsigned char c = (unsigned char)src[n];
    dst[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  dst[n] = '\0';
}

static int catalog_failed(const char *label, PGconn *conn, PGresult *res,
                          store_error *err, const char *doing) {
  char why[256];
  const char *primary =
      res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  printable_line(why, sizeof why,
                 primary != NULL ? primary : PQerrorMessage(conn));
  return store__fail(err, STORE_EIO, "%s: %s: %s", label, doing, why);
}

/*
 * Every problem of the schema rollsafe, one row each: what (as the server
 * names it) and the problem, in the order they are best fixed. Only
 * catalogs every role may read; no parameter.
 */
static const char trust_sql[] =
    "WITH me AS (SELECT r.oid FROM pg_catalog.pg_roles r"
    "   WHERE r.rolname = CURRENT_USER),"
    " ns AS (SELECT n.oid, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n"
    "   WHERE n.nspname = 'rollsafe'),"
    " rel AS (SELECT c.oid, c.relkind, c.relowner, c.relacl,"
    "   c.relrowsecurity, c.relforcerowsecurity FROM pg_catalog.pg_class c"
    "   JOIN ns ON c.relnamespace = ns.oid),"
    " who(oid, name) AS (SELECT 0::pg_catalog.oid, 'PUBLIC' UNION ALL"
    "   SELECT r.oid, r.rolname::pg_catalog.text FROM pg_catalog.pg_roles r)"
    " SELECT what, problem FROM ("
    /* the schema: its owner, then who else may create in it */
    " SELECT 1 AS o, 'the schema rollsafe' AS what,"
    "  pg_catalog.format('is owned by role %I', w.name) AS problem"
    "  FROM ns JOIN who w ON w.oid = ns.nspowner"
    "  WHERE ns.nspowner <> (SELECT oid FROM me)"
    " UNION ALL"
    " SELECT 2, 'the schema rollsafe',"
    "  pg_catalog.format('lets role %s create objects in it (GRANT CREATE)',"
    "   w.name)"
    "  FROM ns, pg_catalog.aclexplode(ns.nspacl) a JOIN who w"
    "   ON w.oid = a.grantee"
    "  WHERE a.privilege_type = 'CREATE' AND a.grantee <> ns.nspowner"
    /* relations: the owner, then what rollsafe never makes */
    " UNION ALL"
    " SELECT 3, CASE rel.relkind WHEN 'r' THEN 'table ' WHEN 'i' THEN"
    "   'index ' WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' WHEN 'm'"
    "   THEN 'materialized view ' WHEN 'f' THEN 'foreign table ' WHEN 'p'"
    "   THEN 'partitioned table ' ELSE 'relation ' END"
    "   || rel.oid::pg_catalog.regclass::pg_catalog.text,"
    "  pg_catalog.format('is owned by role %I', w.name)"
    "  FROM rel JOIN who w ON w.oid = rel.relowner"
    /* an index is owned by its table's owner: its table says it */
    "  WHERE rel.relowner <> (SELECT oid FROM me) AND rel.relkind <> 'i'"
    " UNION ALL"
    " SELECT 4, CASE rel.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN"
    "   'view ' WHEN 'm' THEN 'materialized view ' WHEN 'f' THEN"
    "   'foreign table ' WHEN 'p' THEN 'partitioned table ' WHEN 'c' THEN"
    "   'composite type ' ELSE 'relation ' END"
    "   || rel.oid::pg_catalog.regclass::pg_catalog.text,"
    "  'is not something rollsafe makes (it makes plain tables and their"
    " indexes)'"
    "  FROM rel WHERE rel.relkind NOT IN ('r', 'i', 't')"
    /* grants that let another role change what rollsafe reads back */
    " UNION ALL"
    " SELECT 5, 'table ' || rel.oid::pg_catalog.regclass::pg_catalog.text,"
    "  pg_catalog.format('lets role %s change it (GRANT %s)', w.name,"
    "   a.privilege_type)"
    "  FROM rel, pg_catalog.aclexplode(rel.relacl) a JOIN who w"
    "   ON w.oid = a.grantee"
    "  WHERE a.grantee <> rel.relowner AND a.privilege_type IN ('INSERT',"
    "   'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')"
    /* what would run when rollsafe writes its tables */
    " UNION ALL"
    " SELECT 6, pg_catalog.format('trigger %I on %s', t.tgname,"
    "   t.tgrelid::pg_catalog.regclass),"
    "  pg_catalog.format('runs function %s of role %I', p.oid::"
    "   pg_catalog.regprocedure, pw.name)"
    "  FROM pg_catalog.pg_trigger t JOIN rel ON rel.oid = t.tgrelid"
    "  JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid"
    "  JOIN who pw ON pw.oid = p.proowner"
    " UNION ALL"
    " SELECT 7, pg_catalog.format('rule %I on %s', r.rulename,"
    "   r.ev_class::pg_catalog.regclass),"
    "  'rewrites what rollsafe runs on its table'"
    "  FROM pg_catalog.pg_rewrite r JOIN rel ON rel.oid = r.ev_class"
    " UNION ALL"
    " SELECT 8, pg_catalog.format('policy %I on %s', y.polname,"
    "   y.polrelid::pg_catalog.regclass),"
    "  'filters what rollsafe reads and writes of its table'"
    "  FROM pg_catalog.pg_policy y JOIN rel ON rel.oid = y.polrelid"
    " UNION ALL"
    " SELECT 9, 'table ' || rel.oid::pg_catalog.regclass::pg_catalog.text,"
    "  'has row-level security enabled'"
    "  FROM rel WHERE rel.relrowsecurity OR rel.relforcerowsecurity"
    /* objects rollsafe never makes, whoever owns them */
    " UNION ALL"
    " SELECT 10, 'function ' || p.oid::pg_catalog.regprocedure::"
    "   pg_catalog.text,"
    "  pg_catalog.format('(of role %I) is not something rollsafe makes',"
    "   w.name)"
    "  FROM pg_catalog.pg_proc p JOIN ns ON p.pronamespace = ns.oid"
    "  JOIN who w ON w.oid = p.proowner"
    " UNION ALL"
    " SELECT 11, 'type ' || y.oid::pg_catalog.regtype::pg_catalog.text,"
    "  pg_catalog.format('(of role %I) is not something rollsafe makes',"
    "   w.name)"
    "  FROM pg_catalog.pg_type y JOIN ns ON y.typnamespace = ns.oid"
    "  JOIN who w ON w.oid = y.typowner"
    /* a table's row type and its array type come with the table */
    "  WHERE NOT EXISTS (SELECT 1 FROM rel WHERE rel.oid = y.typrelid)"
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e JOIN rel"
    "   ON rel.oid = e.typrelid WHERE e.oid = y.typelem AND y.typlen = -1"
    "   AND e.typarray = y.oid)"
    " UNION ALL"
    " SELECT 12, x.kind || ' ' || x.name, 'is not something rollsafe makes'"
    "  FROM ("
    "  SELECT 'operator' AS kind, o.oid::pg_catalog.regoperator::"
    "   pg_catalog.text AS name, o.oprnamespace AS nsp"
    "   FROM pg_catalog.pg_operator o"
    "  UNION ALL SELECT 'collation', c.collname::pg_catalog.text,"
    "   c.collnamespace FROM pg_catalog.pg_collation c"
    "  UNION ALL SELECT 'conversion', c.conname::pg_catalog.text,"
    "   c.connamespace FROM pg_catalog.pg_conversion c"
    "  UNION ALL SELECT 'operator class', c.opcname::pg_catalog.text,"
    "   c.opcnamespace FROM pg_catalog.pg_opclass c"
    "  UNION ALL SELECT 'operator family', f.opfname::pg_catalog.text,"
    "   f.opfnamespace FROM pg_catalog.pg_opfamily f"
    "  UNION ALL SELECT 'text search configuration',"
    "   c.cfgname::pg_catalog.text, c.cfgnamespace"
    "   FROM pg_catalog.pg_ts_config c"
    "  UNION ALL SELECT 'text search dictionary', d.dictname::pg_catalog.text,"
    "   d.dictnamespace FROM pg_catalog.pg_ts_dict d"
    "  UNION ALL SELECT 'text search parser', p.prsname::pg_catalog.text,"
    "   p.prsnamespace FROM pg_catalog.pg_ts_parser p"
    "  UNION ALL SELECT 'text search template', t.tmplname::pg_catalog.text,"
    "   t.tmplnamespace FROM pg_catalog.pg_ts_template t"
    "  UNION ALL SELECT 'extension', e.extname::pg_catalog.text,"
    "   e.extnamespace FROM pg_catalog.pg_extension e"
    "  UNION ALL SELECT 'statistics object', s.stxname::pg_catalog.text,"
    "   s.stxnamespace FROM pg_catalog.pg_statistic_ext s"
    "  ) x JOIN ns ON x.nsp = ns.oid"
    " ) problems ORDER BY o, what";

int store__pg_check_trust(PGconn *conn, const char *label, store_error *err) {
  PGresult *res = PQexecParams(conn, trust_sql, 0, NULL, NULL, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    int rc =
        catalog_failed(label, conn, res, err, "checking the schema rollsafe");
    PQclear(res);
    return rc;
  }
  int n = PQntuples(res);
  if (n == 0) {
    PQclear(res);
    return STORE_OK;
  }
  char what[160], problem[160], more[48] = "";
  printable_line(what, sizeof what, PQgetvalue(res, 0, 0));
  printable_line(problem, sizeof problem, PQgetvalue(res, 0, 1));
  if (n > 1)
    snprintf(more, sizeof more, " (and %d more problem%s)", n - 1,
             n > 2 ? "s" : "");
  PQclear(res);
  char me[64] = "?";
  res = PQexec(conn, "SELECT CURRENT_USER");
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
    printable_line(me, sizeof me, PQgetvalue(res, 0, 0));
  PQclear(res);
  return store__fail(
      err, STORE_EUSAGE,
      "%s: refusing the schema rollsafe: %s %s%s; rollsafe uses only what "
      "role %s (the role it connects as) made there and no other role can "
      "change, since it runs with that role's rights. Inspect the schema, "
      "drop what was planted (or the whole schema once no run in it is "
      "needed) and see docs/privileges.md",
      label, what, problem, more, me);
}

/*
 * What an UPDATE of the target fires: its triggers on UPDATE (row or
 * statement level; those of its partitions and inheritance children too,
 * since an UPDATE of the parent reaches their rows), its rules on UPDATE,
 * and, when row-level security is enabled, its policies for UPDATE or
 * ALL. Ordered by table, kind and name.
 */
static const char hooks_sql[] =
    "WITH RECURSIVE tree(oid) AS (SELECT $1::pg_catalog.oid UNION"
    "  SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN tree"
    "  ON i.inhparent = tree.oid)"
    " SELECT kind, name, tab, detail FROM ("
    " SELECT 1 AS o, 'trigger' AS kind, t.tgname::pg_catalog.text AS name,"
    "  t.tgrelid::pg_catalog.regclass::pg_catalog.text AS tab,"
    "  pg_catalog.format('%s UPDATE FOR EACH %s%s, function %s of role %I%s',"
    "   CASE WHEN t.tgtype & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype & 64 <> 0"
    "    THEN 'INSTEAD OF' ELSE 'AFTER' END,"
    "   CASE WHEN t.tgtype & 1 <> 0 THEN 'ROW' ELSE 'STATEMENT' END,"
    "   CASE t.tgenabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN"
    "    ' (replica only)' ELSE '' END,"
    "   p.oid::pg_catalog.regprocedure, r.rolname,"
    "   CASE WHEN p.prosecdef THEN ' (SECURITY DEFINER: runs with its"
    " owner''s rights)' ELSE '' END) AS detail"
    "  FROM pg_catalog.pg_trigger t JOIN tree ON tree.oid = t.tgrelid"
    "  JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid"
    "  JOIN pg_catalog.pg_roles r ON r.oid = p.proowner"
    "  WHERE NOT t.tgisinternal AND t.tgtype & 16 <> 0"
    " UNION ALL"
    " SELECT 2, 'rule', w.rulename::pg_catalog.text,"
    "  w.ev_class::pg_catalog.regclass::pg_catalog.text,"
    "  CASE WHEN w.is_instead THEN 'ON UPDATE DO INSTEAD'"
    "   ELSE 'ON UPDATE DO ALSO' END || '; PostgreSQL refuses rules in the"
    " statement a fix batch is (a data-modifying WITH), so --execute fails"
    " on this table until the rule is dropped'"
    "  FROM pg_catalog.pg_rewrite w JOIN tree ON tree.oid = w.ev_class"
    "  WHERE w.ev_type = '2'"
    " UNION ALL"
    " SELECT 3, 'policy', y.polname::pg_catalog.text,"
    "  y.polrelid::pg_catalog.regclass::pg_catalog.text,"
    "  pg_catalog.format('FOR %s, %s; rows it hides are left alone',"
    "   CASE y.polcmd WHEN 'w' THEN 'UPDATE' ELSE 'ALL' END,"
    "   CASE WHEN y.polpermissive THEN 'permissive' ELSE 'restrictive' END)"
    "  FROM pg_catalog.pg_policy y JOIN tree ON tree.oid = y.polrelid"
    "  JOIN pg_catalog.pg_class c ON c.oid = y.polrelid"
    "  WHERE c.relrowsecurity AND y.polcmd IN ('w', '*')"
    " ) hooks ORDER BY tab, o, name";

int store__pg_write_hooks(PGconn *conn, const char *label, const char *relid,
                          store_hook **out, size_t *n, store_error *err) {
  *out = NULL;
  *n = 0;
  const char *params[1] = {relid};
  PGresult *res = PQexecParams(conn, hooks_sql, 1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    int rc = catalog_failed(label, conn, res, err,
                            "listing the target's triggers and policies");
    PQclear(res);
    return rc;
  }
  size_t count = (size_t)PQntuples(res);
  store_hook *hooks = count > 0 ? calloc(count, sizeof *hooks) : NULL;
  if (count > 0 && hooks == NULL) {
    PQclear(res);
    return store__fail(err, STORE_ENOMEM, "%s: out of memory", label);
  }
  for (size_t i = 0; i < count; i++) {
    store_hook *h = &hooks[i];
    printable_line(h->kind, sizeof h->kind, PQgetvalue(res, (int)i, 0));
    printable_line(h->name, sizeof h->name, PQgetvalue(res, (int)i, 1));
    printable_line(h->table, sizeof h->table, PQgetvalue(res, (int)i, 2));
    printable_line(h->detail, sizeof h->detail, PQgetvalue(res, (int)i, 3));
  }
  PQclear(res);
  *out = hooks;
  *n = count;
  return STORE_OK;
}

/* ---- leases --------------------------------------------------------------
 *
 * The two-key form of the advisory lock functions, (hashtext('rollsafe run
 * ' || id), hashtext(id)): a space of its own in pg_locks (objsubid 2),
 * apart from the one-key bigint locks applications usually take. Two run
 * ids share a lease only if both 32-bit hashes collide.
 */

#define LEASE_KEYS                                               \
  "pg_catalog.hashtext('rollsafe run ' || $1::pg_catalog.text)," \
  " pg_catalog.hashtext($1::pg_catalog.text)"

/* The server process that holds run @p run_id's lease, in @p pid: 1 with
 * it, 0 when none holds it, or a negative store_status. The lock's keys
 * are kept as oids in pg_locks: compared as int4, as they were taken. */
static int lease_holder(PGconn *conn, const char *label, const char *run_id,
                        char pid[24], store_error *err) {
  const char *params[1] = {run_id};
  PGresult *res = PQexecParams(
      conn,
      "SELECT l.pid FROM pg_catalog.pg_locks l WHERE l.locktype = 'advisory'"
      " AND l.granted AND l.objsubid = 2 AND l.database = (SELECT d.oid FROM"
      " pg_catalog.pg_database d WHERE d.datname ="
      " pg_catalog.current_database())"
      " AND l.classid::pg_catalog.int4 = pg_catalog.hashtext('rollsafe run '"
      " || $1::pg_catalog.text)"
      " AND l.objid::pg_catalog.int4 = pg_catalog.hashtext($1::pg_catalog.text)"
      " LIMIT 1",
      1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    int rc = catalog_failed(label, conn, res, err, "reading run leases");
    PQclear(res);
    return rc;
  }
  int held = PQntuples(res) == 1;
  if (held) printable_line(pid, 24, PQgetvalue(res, 0, 0));
  PQclear(res);
  return held;
}

int store__pg_lease_take(PGconn *conn, const char *label, const char *run_id,
                         store_error *err) {
  const char *params[1] = {run_id};
  PGresult *res = PQexecParams(
      conn, "SELECT pg_catalog.pg_try_advisory_lock(" LEASE_KEYS ")", 1, NULL,
      params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    int rc = catalog_failed(label, conn, res, err, "taking the run's lease");
    PQclear(res);
    return rc;
  }
  int got = PQgetvalue(res, 0, 0)[0] == 't';
  PQclear(res);
  if (got) return STORE_OK;
  char pid[24] = "?", id[64];
  (void)lease_holder(conn, label, run_id, pid, NULL);
  printable_line(id, sizeof id, run_id);
  return store__fail(err, STORE_EBUSY,
                     "%s: run %s is being worked on by another rollsafe "
                     "process (server process %s holds its lease); one "
                     "process works on a run at a time: wait for it to end, "
                     "or end it, then try again",
                     label, id, pid);
}

void store__pg_lease_release(PGconn *conn, const char *run_id) {
  if (conn == NULL || PQstatus(conn) != CONNECTION_OK) return;
  const char *params[1] = {run_id};
  PGresult *res =
      PQexecParams(conn, "SELECT pg_catalog.pg_advisory_unlock(" LEASE_KEYS ")",
                   1, NULL, params, NULL, NULL, 0);
  PQclear(res);
}

int store__pg_lease_held(PGconn *conn, const char *label, const char *run_id,
                         store_error *err) {
  char pid[24];
  return lease_holder(conn, label, run_id, pid, err);
}
