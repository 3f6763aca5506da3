#!/usr/bin/env bash
# install.symbols: the shared library exports rs_ and rollsafe_ names only,
# and the installed static library defines no other global name, so that a
# service's own generated code (its shop.Order, its descriptor.proto) never
# meets the library's.
#
#   test_symbols.sh LIBRARY [CONTROL_LIBRARY]
#
# Every dynamic symbol a shared LIBRARY defines (nm -D --defined-only), or
# every global symbol an archive (.a) defines (nm -g --defined-only), must
# start with rs_ or rollsafe_; AddressSanitizer's ODR indicators of such
# names (__odr_asan.rs_...) are theirs too. A control run first proves the
# check bites: CONTROL_LIBRARY (libprotobuf-c, whose exports are
# protobuf_c_..., or the tests' librollsafe.a with its internals) must be
# refused.
set -euo pipefail

lib=$1
control=${2:-}

symbols() { # symbols LIB: the names LIB defines for others
  case $1 in
    *.a) nm -g --defined-only "$1" 2>/dev/null | awk 'NF >= 3 { print $3 }' ;;
    *) nm -D --defined-only "$1" | awk 'NF >= 3 { print $3 }' ;;
  esac
}

# check LIB: prints the names that are not allowed; fails when there are.
check() {
  local names bad
  names=$(symbols "$1")
  [[ -n $names ]] || { echo "no exported symbols in $1" >&2; return 2; }
  bad=$(grep -Ev '^(__odr_asan[._])?(rs_|rollsafe_)' <<<"$names" || true)
  if [[ -n $bad ]]; then
    printf '%s\n' "$bad"
    return 1
  fi
}

if [[ -n $control ]]; then
  if check "$control" >/dev/null; then
    echo "FAIL: the control $control was accepted" >&2
    exit 1
  fi
  echo "ok   control refused: $control"
fi

if ! bad=$(check "$lib"); then
  echo "FAIL: $lib exports names outside rs_/rollsafe_:" >&2
  printf '  %s\n' $bad >&2
  exit 1
fi
echo "ok   $lib: $(symbols "$lib" | wc -l) symbols, all rs_/rollsafe_"
