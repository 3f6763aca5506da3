#!/bin/sh
# help2man-help.sh --help: the help text of `$ROLLSAFE [$RS_MAN_COMMAND]`
# as help2man reads it: "Usage:" and "  or:" lines for its SYNOPSIS. The
# text itself is the tool's own (one source for --help and the man pages).
# Run by cmake/man.cmake only.
set -eu
[ "${1:-}" = "--help" ] || { echo "help2man-help.sh: only --help" >&2; exit 2; }
if [ -n "${RS_MAN_COMMAND:-}" ]; then
  "$ROLLSAFE" "$RS_MAN_COMMAND" --help
else
  "$ROLLSAFE" --help
fi | sed -e '1s/^usage:/Usage:/' \
  -e '2,/^$/s/^       rollsafe/  or: rollsafe/'
