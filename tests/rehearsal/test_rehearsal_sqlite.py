#!/usr/bin/env python3
"""The rollback rehearsal on a SQLite file (see rehearsal.py): migrations,
the service's workload through the codec with checkout_v2 at 20%, the
flag kill, scan, fix, the down migration, the up migration and restore,
judged by the old reader built from the version-1 .proto alone.

Usage: test_rehearsal_sqlite.py --rollsafe BIN --work DIR CASE
(RS_OLD_READER, RS_SERVICE and RS_MIGRATIONS come from ctest.)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rehearsal  # noqa: E402
from rsdata import run_cases  # noqa: E402


def test_flag_kill_cycle(r):
    rehearsal.flag_kill_cycle(r, rehearsal.SqliteBackend(r.work))


def test_impossible_records_left(r):
    rehearsal.impossible_records_left(r, rehearsal.SqliteBackend(r.work))


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
