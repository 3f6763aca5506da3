#!/usr/bin/env bash
# install.codegen_errors: rollsafe_codegen.cmake, the generator behind
# rollsafe_add_record_type(), writes the registration code from protoc-c's
# output, and refuses, naming the file and what it looked for, whatever it
# cannot generate from.
#
#   test_codegen.sh CODEGEN_SCRIPT PROTOC_C PROTO_ROOT
#
# PROTO_ROOT holds payments/v1/payment.proto and payments/v2/payment.proto
# (examples/service/proto).
set -euo pipefail

script=$1
protoc_c=$2
root=$3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen=$tmp/gen
mkdir -p "$gen"
for v in v1 v2; do
  "$protoc_c" --c_out="$gen" -I"$root" "$root/payments/$v/payment.proto"
done
versions='payments/v1/payment.pb-c.c|payments/v2/payment.pb-c.c'
status=0

# gen ARGS...: runs the generator; its output in $tmp/out, on one line with
# single spaces (cmake wraps and pads messages).
gen() {
  local rc=0
  cmake -DGEN_DIR="$gen" "$@" -P "$script" >"$tmp/raw" 2>&1 || rc=$?
  tr -s ' \n' '  ' <"$tmp/raw" >"$tmp/out"
  return $rc
}

# expect_ok NAME ARGS... / expect_error NAME 'TEXT'... -- ARGS...
expect_ok() {
  local name=$1
  shift
  if gen "$@"; then
    echo "ok   $name"
  else
    echo "FAIL $name: refused:" >&2
    cat "$tmp/out" >&2
    status=1
  fi
}
expect_error() {
  local name=$1 texts=()
  shift
  while [[ $1 != -- ]]; do texts+=("$1"); shift; done
  shift
  if gen "$@"; then
    echo "FAIL $name: accepted" >&2
    status=1
    return
  fi
  local t
  for t in "${texts[@]}"; do
    if ! grep -qF -- "$t" "$tmp/out"; then
      echo "FAIL $name: the message lacks '$t':" >&2
      cat "$tmp/out" >&2
      status=1
      return
    fi
  done
  echo "ok   $name: $(grep -o 'rollsafe codegen: .*Call Stack' "$tmp/out" |
    sed 's/ Call Stack$//')"
}

# has FILE TEXT: the generated FILE contains TEXT.
has() {
  if ! grep -qF -- "$2" "$gen/$1"; then
    echo "FAIL: $1 lacks '$2'" >&2
    status=1
  fi
}

expect_ok "generates payments.Payment" -DTYPE=payments.Payment -DVERSIONS="$versions"
has payments_payment_rollsafe.h '#define PAYMENTS_PAYMENT_TYPE "payments.Payment"'
has payments_payment_rollsafe.h '#define PAYMENTS_PAYMENT_NEWEST 2u'
has payments_payment_rollsafe.h 'typedef Payments__V1__Payment payments_payment_v1;'
has payments_payment_rollsafe.h 'typedef Payments__V2__Payment payments_payment_v2;'
has payments_payment_rollsafe.h '#include "payments/v2/payment.pb-c.h"'
has payments_payment_rollsafe.c 'builder, PAYMENTS_PAYMENT_TYPE, 1, &payments__v1__payment__descriptor,'
has payments_payment_rollsafe.c 'builder, PAYMENTS_PAYMENT_TYPE, 2, &payments__v2__payment__descriptor,'
# Default framing: version 1 raw, later versions envelope.
[[ $(grep -c 'RS_ENCODING_RAW' "$gen/payments_payment_rollsafe.c") == 1 &&
   $(grep -c 'RS_ENCODING_ENVELOPE' "$gen/payments_payment_rollsafe.c") == 1 ]] ||
  { echo "FAIL: default encodings are not raw, envelope" >&2; status=1; }

expect_ok "one encoding for every version, a prefix, exact messages" \
  -DTYPE=payments.Payment -DVERSIONS="$versions" -DENCODINGS=raw -DPREFIX=pay \
  "-DMESSAGES=payments.v1.Payment;payments.v2.Payment"
[[ $(grep -c 'RS_ENCODING_RAW' "$gen/pay_rollsafe.c") == 2 ]] ||
  { echo "FAIL: ENCODINGS=raw did not apply to both versions" >&2; status=1; }
has pay_rollsafe.h 'int pay_register(rs_registry_builder *builder, rs_error *err);'

expect_error "a type the files lack" \
  'version 1' 'payments/v1/payment.pb-c.c' 'no message payments.Refund' \
  'only payments.v1.Payment' -- -DTYPE=payments.Refund -DVERSIONS="$versions"
expect_error "a message name that is not exact" \
  'version 2' 'no message Payment (MESSAGES names full names), only payments.v2.Payment' -- -DTYPE=payments.Payment \
  -DVERSIONS="$versions" "-DMESSAGES=payments.v1.Payment|Payment"
expect_error "messages not one per version" \
  '1 MESSAGES for 2 VERSIONS' -- -DTYPE=payments.Payment \
  -DVERSIONS="$versions" -DMESSAGES=payments.v1.Payment
expect_error "an unknown encoding" \
  "version 2: encoding 'confluent': expected raw or envelope" -- \
  -DTYPE=payments.Payment -DVERSIONS="$versions" -DENCODINGS="raw|confluent"
expect_error "a missing file" \
  'version 2' 'payments/v3/payment.pb-c.c does not exist' -- \
  -DTYPE=payments.Payment \
  -DVERSIONS='payments/v1/payment.pb-c.c|payments/v3/payment.pb-c.c'
expect_error "a .proto instead of protoc-c output" \
  "version 1: 'payments/v1/payment.proto' is not protoc-c output" -- \
  -DTYPE=payments.Payment -DVERSIONS='payments/v1/payment.proto'
expect_error "a type that is no protobuf name" \
  "TYPE 'payments/Payment' is not a dotted protobuf name" -- \
  -DTYPE=payments/Payment -DVERSIONS="$versions"
expect_error "no versions" '-DVERSIONS=... is required' -- -DTYPE=payments.Payment
exit $status
