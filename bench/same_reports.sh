#!/usr/bin/env bash
# bench/same_reports.sh: two builds of rollsafe give the same scan reports.
#
#   bench/same_reports.sh OLD_ROLLSAFE NEW_ROLLSAFE SQLITE_FILE [CONNINFO]
#
# Scans the demo database (made by `rollsafe demo` with its config's
# target) and SQLITE_FILE's table t (bench/gen's data; whole and as shard
# 1 of 3; and PostgreSQL table t when CONNINFO is given) with both binaries, for the default reader and
# the envelope-aware reader, at --jobs 1, 2 and 4, in JSON, and compares
# the reports byte for byte once their timing fields (started_at,
# duration_seconds) are removed. Exit 0 when every pair is the same, 1
# otherwise (the differences printed), 2 on a failure to run.
set -Eeuo pipefail

(($# == 3 || $# == 4)) || {
  sed -n '2,/^set -Eeuo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
old=$(realpath "$1") new=$(realpath "$2") db=$(realpath "$3") conninfo=${4:-}
work=$(mktemp -d /tmp/rollsafe-same.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$new" demo --rows 20000 "$work/demo" >/dev/null

# A report without its timing fields, keys in a fixed order.
strip() {
  python3 -c '
import json, sys
def drop(v):
    if isinstance(v, dict):
        return {k: drop(x) for k, x in v.items()
                if k not in ("started_at", "duration_seconds")}
    if isinstance(v, list):
        return [drop(x) for x in v]
    return v
print(json.dumps(drop(json.load(open(sys.argv[1]))), indent=1, sort_keys=True))
' "$1"
}

scan=(scan --format json)
cases=()
for reader in "" "--reader-framing envelope"; do
  for j in 1 2 4; do
    cases+=("-c $work/demo/rollsafe.yaml $reader --jobs $j")
    cases+=("--key key --column payload --type shop.Order --sqlite $db --table t $reader --jobs $j")
    cases+=("--key key --column payload --type shop.Order --sqlite $db --table t $reader --jobs $j --shard 1/3")
    if [[ -n $conninfo ]]; then
      cases+=("--key key --column payload --type shop.Order --postgres CONNINFO --table t $reader --jobs $j")
    fi
  done
done

differ=0
n=0
for c in "${cases[@]}"; do
  read -ra args <<<"$c"
  for i in "${!args[@]}"; do
    [[ ${args[$i]} == CONNINFO ]] && args[i]=$conninfo
  done
  for which in old new; do
    bin=$old
    [[ $which == new ]] && bin=$new
    status=0
    (cd "$work/demo" && "$bin" "${scan[@]}" "${args[@]}" -o "$work/$which.json") ||
      status=$?
    ((status <= 1 || status == 4)) || {
      echo "same_reports: $which: exit $status: rollsafe scan $c" >&2
      exit 2
    }
    echo "$status" >"$work/$which.status"
    strip "$work/$which.json" >"$work/$which.txt"
  done
  n=$((n + 1))
  if cmp -s "$work/old.txt" "$work/new.txt" &&
    cmp -s "$work/old.status" "$work/new.status"; then
    echo "same: rollsafe scan $c"
  else
    differ=$((differ + 1))
    echo "DIFFERENT: rollsafe scan $c"
    diff "$work/old.txt" "$work/new.txt" | head -n 20 || true
  fi
done
echo "$((n - differ)) of $n reports the same"
((differ == 0))
