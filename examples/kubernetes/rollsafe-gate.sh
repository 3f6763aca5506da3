#!/bin/sh
# rollsafe-gate.sh: `rollsafe scan` as an Argo Rollouts job metric.
#
# Argo's job provider knows two outcomes: a Job that succeeds makes the
# measurement Successful, a Job that fails makes it Failed (and the rollout
# aborts). rollsafe has a third, exit 4: the scan is incomplete, neither
# clean nor dirty. This script maps rollsafe's exit code onto the Job and,
# when PUSHGATEWAY is set, pushes it as rollsafe_gate_exit_code{canary_hash}
# so that a prometheus metric (AnalysisTemplate rollsafe-verdict) can make
# 3 and 4 Inconclusive, which pauses the rollout instead.
#
#   rollsafe exit   Job       with PUSHGATEWAY: rollsafe-verdict
#   0 clean         succeeds  Successful
#   1 findings      fails     Failed
#   2 usage/config  fails     Failed (a broken gate must not pass)
#   3 connection    succeeds  Inconclusive
#   4 incomplete    succeeds  Inconclusive
#
# Without PUSHGATEWAY there is no way to say Inconclusive, and 3 and 4 fail
# the Job (fail closed): the rollout aborts rather than proceeding unchecked.
# A push that fails also fails the Job.
#
# Environment: RS_CONFIG (default /etc/rollsafe/rollsafe.yaml), RS_TIMEOUT
# (default 30m: then rollsafe is sent SIGINT, writes what it read and exits
# 4), PUSHGATEWAY (e.g. http://pushgateway.monitoring:9091), CANARY_HASH
# (the canary's pod-template-hash, from the AnalysisTemplate's argument).
set -u

config=${RS_CONFIG:-/etc/rollsafe/rollsafe.yaml}

# The scan's text report goes to the Job's log (kubectl logs).
timeout --preserve-status -s INT "${RS_TIMEOUT:-30m}" \
  rollsafe scan -c "$config"
rc=$?
echo "rollsafe scan: exit $rc"

if [ -n "${PUSHGATEWAY:-}" ]; then
  if ! printf '# TYPE rollsafe_gate_exit_code gauge\nrollsafe_gate_exit_code %d\n' "$rc" |
    curl --fail --silent --show-error --data-binary @- \
      "$PUSHGATEWAY/metrics/job/rollsafe_gate/canary_hash/${CANARY_HASH:?CANARY_HASH is not set}"; then
    echo "cannot push the exit code to $PUSHGATEWAY: failing the gate" >&2
    exit 1
  fi
  case $rc in
    0 | 3 | 4) exit 0 ;; # rollsafe-verdict decides: Successful or Inconclusive
    *) exit 1 ;;
  esac
fi
case $rc in
  0) exit 0 ;;
  3 | 4)
    echo "inconclusive (exit $rc), and without PUSHGATEWAY a job metric can only fail: failing the gate" >&2
    exit 1
    ;;
  *) exit 1 ;;
esac
