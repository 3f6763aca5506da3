#!/usr/bin/env bash
# examples/ci/rollback-rehearsal.sh: the flag-kill cycle, rehearsed in CI
# against a service's own migrations, schemas and database.
#
#   1. rollsafe diff: the stable schema (the reader a rollback returns to)
#      against the new one (the writer), in the rollback direction; a
#      change the stable reader cannot take ends the rehearsal here
#   2. all up migrations, then the service's workload with the flag on for
#      a share of traffic
#   3. the kill: rollsafe scan (the blast radius), fix --execute while the
#      stable version's queue consumers run, scan again (must be clean), and
#      the old reader (must read every record, and every queued message a
#      consumer will still read)
#   4. the feature's down migrations; scan and the old reader again
#   5. re-enable: the up migrations again and rollsafe restore of every run
#
# Configuration, all through the environment:
#   RS_CONFIG             rollsafe config file: the targets the feature writes
#                         (tables; outboxes as postgres-queue/sqlite-queue
#                         with state_column, pending_states,
#                         in_flight_states), required
#   MIGRATE_UP            command applying every up migration, required
#   MIGRATE_DOWN_FEATURE  command running the feature's down migrations,
#                         required
#   WORKLOAD              command writing records with the flag on for a
#                         share of traffic, required
#   OLD_READER            command reading every record as the stable code
#                         does (of an outbox: the pending and in-flight
#                         messages, the ones consumers still read), exit 0
#                         when all are read; optional (without it, rollsafe
#                         scan is the only judge)
#   CONSUMERS             command running the stable version's queue
#                         consumers during the fix: they take pending
#                         messages and finish the ones in flight, which a
#                         fix never rewrites and passes over until they are
#                         done (without consumers, messages left in flight
#                         end the fix with exit 4 after --max-passes). Its
#                         output goes to $RS_OUT/consumers.txt; exit 0 or 1
#                         (1: it took a message the old code could not read,
#                         before the fix reached it) is logged, anything
#                         else fails the rehearsal. Optional
#   RS_SCHEMAS            descriptor sets (protoc --include_imports) or
#                         .proto files, one per format version, oldest
#                         first, separated by spaces: passed as --schema to
#                         scan, fix and restore, replacing the config's
#                         top-level schemas; empty for the config's own
#                         schemas or record types compiled into rollsafe
#   RS_DIFF_OLD, RS_DIFF_NEW
#                         the stable and the new schema (descriptor sets
#                         or .proto files) for `rollsafe diff OLD NEW -c
#                         RS_CONFIG` (its diff section: fail_on,
#                         suppressions); the SARIF report goes to
#                         $RS_OUT/diff.sarif, the text to the log. Without
#                         them the diff step does not run (and says so)
#   RS_DIFF_TYPE          diff's --type: the message to compare, matched by
#                         full name, its last components, or the name
#                         without version parts of the package ('Order'
#                         and 'shop.Order' both match shop.v1.Order and
#                         shop.v2.Order), or
#                         OLD_NAME:NEW_NAME. Default: every message of the
#                         new schema's own files
#   RS_DIFF_ARGS          extra options for diff (e.g. -I proto,
#                         --fail-on warning)
#   RS_FIX_ARGS           extra options for fix (default: --allow-lossy;
#                         restore brings back what a lossy conversion lost)
#   ROLLSAFE              the rollsafe binary (default: rollsafe)
#   RS_OUT                folder for reports (default: rollsafe-reports)
#
# Exit status: 0 the change is rollback-safe; 1 it is not (the message says
# which step); 2 configuration error; 3 a command or connection failed;
# 4 inconclusive (a rollsafe run was incomplete).
# Needs bash and python3; protoc when a schema is a .proto file.
set -uo pipefail

ROLLSAFE=${ROLLSAFE:-rollsafe}
RS_OUT=${RS_OUT:-rollsafe-reports}
RS_FIX_ARGS=${RS_FIX_ARGS---allow-lossy}

step() { printf '\n== %s\n' "$*"; }
die() {
  local code=$1
  shift
  printf 'rollback rehearsal: %s\n' "$*" >&2
  exit "$code"
}

for v in RS_CONFIG MIGRATE_UP MIGRATE_DOWN_FEATURE WORKLOAD; do
  [[ -n ${!v:-} ]] || die 2 "$v is not set"
done
[[ -r $RS_CONFIG ]] || die 2 "cannot read RS_CONFIG $RS_CONFIG"
mkdir -p "$RS_OUT" || die 3 "cannot create $RS_OUT"

schema_args=()
for s in ${RS_SCHEMAS:-}; do schema_args+=(--schema "$s"); done
read -r -a fix_args <<<"$RS_FIX_ARGS"
read -r -a diff_args <<<"${RS_DIFF_ARGS:-}"
diff_args+=(-c "$RS_CONFIG" ${RS_DIFF_TYPE:+--type "$RS_DIFF_TYPE"})

# rollsafe's exit codes: 0 clean, 1 findings, 2 usage, 3 I/O, 4 incomplete.
# Anything but 0 or 1 stops the rehearsal with rollsafe's own code.
# Each report is kept as JSON in $RS_OUT (a CI artifact); the log gets a
# one-line summary.
rollsafe_run() {
  local name=$1
  shift
  "$ROLLSAFE" "$@" --format json -o "$RS_OUT/$name.json"
  local rc=$?
  [[ -s $RS_OUT/$name.json ]] && python3 - "$RS_OUT/$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d["command"] == "scan":
    v = d["totals"]["verdicts"]
    print("%s: %s" % (sys.argv[1], ", ".join("%s %d" % kv for kv in v.items())))
else:
    keys = (("restored", "gone", "in_flight", "conflicts")
            if d["command"] == "restore" else
            ("rewritten", "lossy", "impossible", "corrupt", "conflicts",
             "in_flight", "gone", "remaining"))
    print("%s: %s" % (sys.argv[1], ", ".join(
        "%s %s" % (k, d[k]) for k in keys if k in d)))
PY
  case $rc in
    0 | 1) return $rc ;;
    4) die 4 "rollsafe $1 was incomplete (see $RS_OUT/$name.json): inconclusive" ;;
    *) die "$rc" "rollsafe $1 failed with exit $rc" ;;
  esac
}

old_reader() {
  [[ -n ${OLD_READER:-} ]] || {
    echo "old reader: OLD_READER not set, not run"
    return 0
  }
  bash -c "$OLD_READER" >"$RS_OUT/old-reader-$1.txt"
  local rc=$?
  echo "old reader ($1): exit $rc, $(wc -l <"$RS_OUT/old-reader-$1.txt") lines of output"
  return $rc
}

run_cmd() {
  local what=$1
  shift
  bash -c "$1" || die 3 "$what failed: $1"
}

step "1. rollsafe diff: can the stable reader read what the new schema writes?"
if [[ -n ${RS_DIFF_OLD:-} && -n ${RS_DIFF_NEW:-} ]]; then
  # The SARIF report decides (code-scanning pages show it); the text
  # report, the same findings, goes to the log.
  "$ROLLSAFE" diff "$RS_DIFF_OLD" "$RS_DIFF_NEW" "${diff_args[@]}" \
    --format sarif -o "$RS_OUT/diff.sarif"
  rc=$?
  [[ $rc -gt 1 ]] || "$ROLLSAFE" diff "$RS_DIFF_OLD" "$RS_DIFF_NEW" "${diff_args[@]}"
  case $rc in
    0) ;;
    1) die 1 "the schema change is not rollback-safe: rollsafe diff $RS_DIFF_OLD $RS_DIFF_NEW exit 1 (findings above, SARIF in $RS_OUT/diff.sarif); no migration or workload was run" ;;
    *) die "$rc" "rollsafe diff $RS_DIFF_OLD $RS_DIFF_NEW failed with exit $rc" ;;
  esac
else
  echo "diff: not run: RS_DIFF_OLD and RS_DIFF_NEW are not set"
fi

step "2. migrations up, and the workload with the flag on"
run_cmd "MIGRATE_UP" "$MIGRATE_UP"
run_cmd "WORKLOAD" "$WORKLOAD"

step "3. the flag kill: scan, fix, scan, old reader"
rollsafe_run scan-before scan -c "$RS_CONFIG" "${schema_args[@]}" --samples 100
before=$?
echo "scan before the fix: exit $before (records the stable code cannot read: $([[ $before == 1 ]] && echo yes || echo none))"
old_reader before
old_before=$?
if [[ $before == 0 && $old_before != 0 ]]; then
  die 1 "rollsafe scan is clean but the old reader fails (see $RS_OUT/old-reader-before.txt)"
fi
consumers_pid=
stop_consumers() { [[ -z $consumers_pid ]] || kill "$consumers_pid" 2>/dev/null; }
trap stop_consumers EXIT
if [[ -n ${CONSUMERS:-} ]]; then
  bash -c "$CONSUMERS" >"$RS_OUT/consumers.txt" 2>&1 &
  consumers_pid=$!
fi
rollsafe_run fix fix -c "$RS_CONFIG" "${schema_args[@]}" --execute "${fix_args[@]}" --samples 100
fix_rc=$?
if [[ -n $consumers_pid ]]; then
  wait "$consumers_pid"
  consumers_rc=$?
  consumers_pid=
  echo "consumers: exit $consumers_rc (see $RS_OUT/consumers.txt)"
  [[ $consumers_rc -le 1 ]] || die 3 "CONSUMERS failed with exit $consumers_rc: see $RS_OUT/consumers.txt"
fi
[[ $fix_rc == 0 ]] ||
  die 1 "fix left records the stable code cannot read (impossible, corrupt or lossy without --allow-lossy): see $RS_OUT/fix.json; not rollback-safe"
rollsafe_run scan-after-fix scan -c "$RS_CONFIG" "${schema_args[@]}" ||
  die 1 "scan after the fix still finds records: see $RS_OUT/scan-after-fix.json"
# Here rollsafe scan is clean: what the old reader still fails on is a
# change rollsafe was not told of, e.g. a value moved to another field,
# which a schema shows only as a field dropped and another added.
old_reader after-fix ||
  die 1 "the old reader fails after the fix although rollsafe scan is clean: see $RS_OUT/old-reader-after-fix.txt (a value moved to another field needs a converter that knows the move: a plugin)"

step "4. the feature's down migrations"
run_cmd "MIGRATE_DOWN_FEATURE" "$MIGRATE_DOWN_FEATURE"
rollsafe_run scan-after-down scan -c "$RS_CONFIG" "${schema_args[@]}" ||
  die 1 "scan after the down migration finds records: see $RS_OUT/scan-after-down.json"
old_reader after-down || die 1 "the old reader fails after the down migration: see $RS_OUT/old-reader-after-down.txt"

step "5. re-enable: migrations up again, restore every run"
run_cmd "MIGRATE_UP" "$MIGRATE_UP"
# The fix was one run over every target: one restore puts it all back,
# each target as the run recorded it (an outbox as an outbox).
run_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["run_id"] or "")' \
  "$RS_OUT/fix.json") || die 3 "cannot read $RS_OUT/fix.json"
[[ -n $run_id ]] || die 3 "no run id in $RS_OUT/fix.json"
rollsafe_run restore restore -c "$RS_CONFIG" "${schema_args[@]}" --run "$run_id" --execute ||
  die 1 "restore of run $run_id left rows alone (conflicts): see $RS_OUT/restore.json"
echo "restored: run $run_id"

step "rollback rehearsal passed: the change is rollback-safe"
exit 0
