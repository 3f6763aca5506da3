#!/usr/bin/env python3
"""examples/ci/rollback-rehearsal.sh on the PostgreSQL server of the suite
(ctest fixture pg_server), as the GitHub Actions workflow runs it: the
migrations of migrations/postgres, rehearsal_service as the workload and
old_reader as the stable code, in a schema of its own; with the
compiled-in record types and with runtime descriptor sets (RS_SCHEMAS)
behind a diff gate that passes.

Usage: test_examples_postgres.py --rollsafe BIN --work DIR CASE
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rehearsal  # noqa: E402
import test_examples  # noqa: E402
from rsdata import run_cases  # noqa: E402


def test_ci_script_passes(r):
    test_examples.ci_script_passes(r, rehearsal.PostgresBackend("rh_ci"))


def test_ci_script_runtime_schemas_pass(r):
    test_examples.ci_script_runtime_schemas_pass(
        r, rehearsal.PostgresBackend("rh_ci_schemas"))


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
