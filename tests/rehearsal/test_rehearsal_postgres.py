#!/usr/bin/env python3
"""The rollback rehearsal on the PostgreSQL server of the suite (ctest
fixture pg_server), each case in a schema of its own (see rehearsal.py):
migrations, the service's workload through the codec with checkout_v2 at
20%, the flag kill, scan, fix, the down migration, the up migration and
restore, judged by the old reader built from the version-1 .proto alone.

Usage: test_rehearsal_postgres.py --rollsafe BIN --work DIR CASE
(RS_OLD_READER, RS_SERVICE, RS_MIGRATIONS and RS_PG_CONNINFO_FILE come
from ctest.)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rehearsal  # noqa: E402
from rsdata import run_cases  # noqa: E402


def test_flag_kill_cycle(r):
    rehearsal.flag_kill_cycle(r, rehearsal.PostgresBackend("rh_cycle"))


def test_impossible_records_left(r):
    rehearsal.impossible_records_left(
        r, rehearsal.PostgresBackend("rh_impossible"))


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
