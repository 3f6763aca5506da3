#!/usr/bin/env bash
# header.standalone: the public headers compile on their own, as strict C11.
#
#   test_header.sh INCLUDE_DIR "COMPILERS" "PROTOBUF_C_CFLAGS"
#
# Each compiler checks the umbrella <rollsafe/rollsafe.h> and every public
# header alone with -std=c11 -pedantic -Wall -Wextra -Werror. A control case
# first proves the flags bite: a scratch copy of the headers with a pedantic
# violation added must be rejected.
set -euo pipefail

include_dir=$1
read -r -a compilers <<<"$2"
read -r -a pbc_cflags <<<"${3:-}"
flags=(-std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only)

if ((${#compilers[@]} == 0)); then
  echo "no compiler given" >&2
  exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Control: an extra ';' at file scope is valid GNU C but not ISO C.
cp -r "$include_dir/rollsafe" "$scratch/rollsafe"
echo ';' >>"$scratch/rollsafe/common.h"
echo '#include <rollsafe/rollsafe.h>' >"$scratch/umbrella.c"

status=0
for cc in "${compilers[@]}"; do
  if "$cc" "${flags[@]}" -I"$scratch" "${pbc_cflags[@]}" "$scratch/umbrella.c" \
    2>/dev/null; then
    echo "FAIL $cc: the control (a pedantic violation) was accepted" >&2
    status=1
  fi

  for header in $(cd "$include_dir/rollsafe" && ls -- *.h); do
    echo "#include <rollsafe/$header>" >"$scratch/one.c"
    if "$cc" "${flags[@]}" -I"$include_dir" "${pbc_cflags[@]}" "$scratch/one.c"; then
      echo "ok   $cc <rollsafe/$header>"
    else
      echo "FAIL $cc <rollsafe/$header>" >&2
      status=1
    fi
  done
done
exit $status
