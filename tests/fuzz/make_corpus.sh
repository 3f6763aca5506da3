#!/bin/bash
# Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/,
# with protoc --encode (a second implementation: no rollsafe code involved)
# and printf for the envelope's fixed bytes (schema/README.md).
#
#   tests/fuzz/make_corpus.sh            # from the repository root
#
# The output is deterministic; the committed corpus is what this writes,
# plus any inputs a fuzzer found (named crash-*, leak-*, found-*), which
# this script leaves alone.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
schema=$root/schema
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

enc() { # enc MESSAGE FILE.proto < text > bytes
  protoc -I"$schema" --encode="$1" "$schema/$2"
}
v1() { enc shop.v1.Order shop/v1/order.proto; }
v2() { enc shop.v2.Order shop/v2/order.proto; }
header() { enc rollsafe.envelope.Header rollsafe/envelope.proto; }

varint() { # the protobuf varint of $1, as printf escapes
  local n=$1 s=""
  while ((n >= 128)); do
    s+=$(printf '\\x%02x' $(((n & 127) | 128)))
    n=$((n >> 7))
  done
  s+=$(printf '\\x%02x' "$n")
  printf '%s' "$s"
}

# envelope NAME HEADER-TEXT PAYLOAD-FILE [MAJOR]
envelope() {
  local name=$1 htext=$2 payload=$3 major=${4:-1}
  printf '%s' "$htext" | header > "$out/h"
  local hlen
  hlen=$(stat -c %s "$out/h")
  {
    printf '\xf7'
    printf "\\x$(printf %02x "$major")"
    printf "$(varint "$hlen")"
    cat "$out/h" "$payload"
  } > "$out/$name"
}

fp2='schema_fingerprint: "\x9d\x3d\xb0\x9d\x4c\x7c\xdf\x13"'
prov='provenance { flag_key: "checkout_v2" variant: "on" writer_id: "orders-api 4.2.0 pod-7" write_time_us: 1767225600000000 }'

# ---- version 1: raw ---------------------------------------------------------
printf 'order_id: "ord-1" customer_id: "cust-1"' | v1 > "$out/v1-minimal.bin"
v1 > "$out/v1-full.bin" <<'T'
order_id: "ord-000042" customer_id: "cust-7" total_cents: 12999 status: PAID
items { sku: "SKU-1" quantity: 2 unit_price_cents: 4999 }
items { sku: "Zoë-ü" quantity: 1 unit_price_cents: -300 }
created_at: 1767225600
ship_to { line1: "Straße 5" city: "Berlin" postal_code: "10115" country: "DE" }
discount_cents: 749 deliver_by: 1767830400
T
# What a down-conversion writes: v1 fields plus v2-only ones as unknowns.
v2 > "$out/v1-with-unknown-fields.bin" <<'T'
order_id: "ord-9" customer_id: "cust-9" status: SHIPPED
promo_codes: "SPRING24" promo_codes: "🎁" gift_message: "Happy birthday!"
pickup_store_id: "store-berlin-3"
T
# A status v1 does not know (6): protobuf-c keeps it as an int.
printf 'order_id: "ord-6" customer_id: "c" status: AWAITING_AUTH' | v2 > "$out/v1-unknown-enum.bin"
head -c 25 "$out/v1-full.bin" > "$out/v1-truncated.bin"  # inside items[0]
printf 'order_id: "ord-1"' | v1 > "$out/v1-missing-customer.bin"

# ---- version 2 payloads -----------------------------------------------------
v2 > "$out/p-clean" <<'T'
order_id: "ord-2" customer_id: "cust-2" total_cents: 500 status: PAID
items { sku: "SKU-2" quantity: 1 unit_price_cents: 500 }
ship_to { city: "Tokyo" country: "JP" } gift_message: "おめでとう"
T
v2 > "$out/p-hazards" <<'T'
order_id: "ord-h" total_cents: 12999 status: AWAITING_AUTH
items { sku: "SKU-1" quantity: 2 unit_price_cents: 4999 }
created_at: 1767225600 pickup_store_id: "store-3"
discount { units: 7 nanos: 496000000 currency_code: "EUR" }
deliver_by { seconds: 1767830400 nanos: 500000000 }
promo_codes: "SPRING24" gift_message: "🎂"
T
v2 > "$out/p-lossy" <<'T'
order_id: "ord-l" customer_id: "cust-l" status: AWAITING_AUTH
discount { units: -3 nanos: -5000000 currency_code: "USD" }
deliver_by { seconds: 1767830400 nanos: 1 }
T
cp "$out/p-hazards" "$out/v2-raw-payload-no-envelope.bin"

# ---- version 2: envelopes ---------------------------------------------------
envelope v2-envelope-clean.bin "record_type: \"shop.Order\" format_version: 2 $prov $fp2" "$out/p-clean"
envelope v2-envelope-hazards.bin "record_type: \"shop.Order\" format_version: 2 $prov $fp2" "$out/p-hazards"
envelope v2-envelope-lossy.bin "record_type: \"shop.Order\" format_version: 2 $prov" "$out/p-lossy"
envelope v2-envelope-no-provenance.bin 'record_type: "shop.Order" format_version: 2' "$out/p-clean"
envelope v2-envelope-wrong-fingerprint.bin "record_type: \"shop.Order\" format_version: 2 schema_fingerprint: \"12345678\"" "$out/p-clean"
envelope v1-in-envelope.bin 'record_type: "shop.Order" format_version: 1' "$out/v1-full.bin"
envelope envelope-version-3.bin 'record_type: "shop.Order" format_version: 3' "$out/p-clean"
envelope envelope-critical-zstd.bin 'record_type: "shop.Order" format_version: 2 critical: "zstd"' "$out/p-clean"
envelope envelope-other-type.bin 'record_type: "shop.Cart" format_version: 2' "$out/p-clean"
envelope envelope-no-type.bin 'format_version: 2' "$out/p-clean"
envelope envelope-major-2.bin 'record_type: "shop.Order" format_version: 2' "$out/p-clean" 2
envelope envelope-empty-payload.bin 'record_type: "shop.Order" format_version: 2' /dev/null
head -c 40 "$out/v2-envelope-hazards.bin" > "$out/envelope-truncated-header.bin"
full=$(stat -c %s "$out/v2-envelope-hazards.bin")
head -c $((full - 5)) "$out/v2-envelope-hazards.bin" > "$out/envelope-truncated-payload.bin"
printf '\xf7\x01\xff\xff\x03' > "$out/envelope-header-length-huge.bin"

# ---- garbage ------------------------------------------------------------------
: > "$out/empty.bin"
printf '\xf7' > "$out/marker-only.bin"
printf '\x0a\xff\xff\xff\xff\x0f' > "$out/length-past-end.bin"
printf '\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01' > "$out/varint-11-bytes.bin"
# Unknown groups nested 150 deep (field 20: start 0xa3 0x01, end 0xa4 0x01).
{ printf 'order_id: "g" customer_id: "g"' | v1
  for _ in $(seq 150); do printf '\xa3\x01'; done
  for _ in $(seq 150); do printf '\xa4\x01'; done; } > "$out/deep-unknown-groups.bin"
# Field 9 as a varint and as a message in one record: v1 and v2 disagree.
{ printf 'order_id: "x" customer_id: "y" deliver_by: 5' | v1
  printf 'deliver_by { seconds: 5 }' | v2; } > "$out/deliver-by-both-wire-types.bin"
printf 'not a protobuf record at all \xff\xfe\x00\x01' > "$out/text-garbage.bin"

for target in fuzz_classify fuzz_decode; do
  dir=$root/tests/fuzz/corpus/$target
  mkdir -p "$dir"
  # Replace the generated seeds; keep inputs found by fuzzing.
  find "$dir" -maxdepth 1 -type f ! -name 'crash-*' ! -name 'leak-*' \
    ! -name 'found-*' -delete
  for f in "$out"/*.bin; do cp "$f" "$dir/"; done
done
echo "wrote $(ls "$out"/*.bin | wc -l) seeds to tests/fuzz/corpus/{fuzz_classify,fuzz_decode}"

# fuzz_descset: descriptor sets, written by protoc, and broken copies.
ds=$(mktemp -d)
trap 'rm -rf "$out" "$ds"' EXIT
dset() { # dset NAME INCLUDE FILE.proto: protoc's descriptor set
  protoc --include_imports -I"$2" --descriptor_set_out="$ds/$1" "$2/$3"
}
dset shop-v1.desc "$schema" shop/v1/order.proto
dset shop-v2.desc "$schema" shop/v2/order.proto
dset envelope-source-info.desc "$schema" rollsafe/envelope.proto
protoc --include_imports --include_source_info -I"$schema" \
  --descriptor_set_out="$ds/shop-v2-source-info.desc" "$schema/shop/v2/order.proto"
dset matrix2.desc "$root/tests/runtime" matrix2.proto
dset matrix3.desc "$root/tests/runtime" matrix3.proto
dset plugin-reading-v2.desc "$root/examples/plugin" reading_v2.proto
head -c 200 "$ds/shop-v2.desc" > "$ds/shop-v2-truncated.desc"
# matrix2 without its first bytes' length: the file record is cut short.
tail -c +3 "$ds/matrix2.desc" > "$ds/matrix2-shifted.desc"
printf '\x0a\x00' > "$ds/empty-file.desc"
dir=$root/tests/fuzz/corpus/fuzz_descset
mkdir -p "$dir"
find "$dir" -maxdepth 1 -type f ! -name 'crash-*' ! -name 'leak-*' \
  ! -name 'found-*' -delete
cp "$ds"/*.desc "$dir/"
echo "wrote $(ls "$ds"/*.desc | wc -l) seeds to tests/fuzz/corpus/fuzz_descset"
