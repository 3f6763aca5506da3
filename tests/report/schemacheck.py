"""Validation of rollsafe's JSON reports against schema/json/ (draft
2020-12, Debian's python3-jsonschema), shared by the report tests of
tests/report, tests/kafka and the PostgreSQL ones.

  validate(doc)          the document against the schema its "command"
                         names; raises Failure listing what does not match
  check_rejected(doc)    that the schema refuses the document with a
                         member removed, renamed or given a wrong value
"""

import copy
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "..", "schema", "json")
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from rsdata import Failure, check  # noqa: E402

from jsonschema import Draft202012Validator  # noqa: E402

# The schema of each document ("command" -> file).
FILES = {"scan": "scan", "fix": "fix", "restore": "restore", "runs": "runs",
         "purge": "purge", "diff": "diff", "inspect": "inspect",
         "demo": "demo"}
_validators = {}


def schema(name):
    with open(os.path.join(SCHEMAS, "%s.schema.json" % name)) as f:
        return json.load(f)


def validator(command):
    if command not in _validators:
        s = schema(FILES[command])
        Draft202012Validator.check_schema(s)
        _validators[command] = Draft202012Validator(s)
    return _validators[command]


def errors(doc, command=None):
    """The schema errors of @doc, against the schema of @command (default:
    the one its "command" member names)."""
    if command is None:
        command = doc.get("command") if isinstance(doc, dict) else None
    check(command in FILES, "a document with no known command", str(doc)[:500])
    return sorted(validator(command).iter_errors(doc),
                  key=lambda e: list(e.absolute_path))


def validate(doc, what=""):
    errs = errors(doc)
    if errs:
        raise Failure("%s%s report does not match %s.schema.json:\n%s" % (
            what + ": " if what else "", doc.get("command"),
            FILES[doc["command"]],
            "\n".join("  at /%s: %s" % ("/".join(str(p) for p in e.absolute_path),
                                       e.message[:300]) for e in errs[:20])))
    return doc


def validated(text, what=""):
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise Failure("%s: not JSON (%s): %s" % (what, e, text[:2000]))
    return validate(doc, what)


def _at(doc, path):
    for p in path[:-1]:
        doc = doc[p]
    return doc, path[-1]


def check_rejected(doc, path, what):
    """The schema refuses @doc with the member at @path (a list of keys and
    indexes) removed, and with it renamed (to path[-1] + "_renamed")."""
    for how in ("removed", "renamed"):
        bad = copy.deepcopy(doc)
        parent, key = _at(bad, path)
        check(key in parent, "%s: %r is in the document" % (what, path))
        value = parent.pop(key)
        if how == "renamed":
            parent[key + "_renamed"] = value
        check(errors(bad, doc["command"]), "%s: the schema accepts the document with %s %s"
              % (what, "/".join(str(p) for p in path), how))
