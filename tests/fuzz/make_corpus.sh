#!/bin/bash
# Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/,
# with protoc --encode (a second implementation: no rollsafe code involved)
# and printf for the envelope's fixed bytes (schema/README.md).
#
#   tests/fuzz/make_corpus.sh            # from the repository root
#
# The output is deterministic; the committed corpus is what this writes,
# plus any inputs a fuzzer found (named crash-*, leak-*, found-*,
# regress-*; reencode-* in fuzz_decode), which this script leaves alone.
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

# ---- Confluent Schema Registry framing ----------------------------------------
# 0x00, schema id (4 bytes big-endian), message indexes (zigzag varints: a
# count, then the indexes; the single byte 0 for [0]), payload. The fuzz
# targets map schema id 1 to version 1 at [0] and 2 to version 2 at [1].
confluent() { # confluent NAME ID-ESCAPES PATH-ESCAPES PAYLOAD-FILE
  { printf '\x00'"$2$3"; cat "$4"; } > "$out/$1"
}
confluent confluent-v1.bin '\x00\x00\x00\x01' '\x00' "$out/v1-full.bin"
confluent confluent-v2-path-1.bin '\x00\x00\x00\x02' '\x02\x02' "$out/p-hazards"
confluent confluent-v2-path-0-unmapped.bin '\x00\x00\x00\x02' '\x00' "$out/p-clean"
confluent confluent-id-unmapped.bin '\x00\x00\x30\x39' '\x00' "$out/p-lossy"
confluent confluent-nested-path.bin '\x00\x00\x00\x02' '\x06\x02\x00\x04' "$out/p-clean"
confluent confluent-count-huge.bin '\x00\x00\x00\x01' '\xfe\xff\xff\xff\x0f' "$out/p-clean"
confluent confluent-count-negative.bin '\x00\x00\x00\x01' '\x01' "$out/p-clean"
confluent confluent-varint-6-bytes.bin '\x00\x00\x00\x01' '\x80\x80\x80\x80\x80\x01' "$out/p-clean"
confluent confluent-empty-payload.bin '\x00\x00\x00\x01' '\x00' /dev/null
printf '\x00\x00\x00' > "$out/confluent-truncated-id.bin"
printf '\x00\x00\x00\x00\x01\x04\x02' > "$out/confluent-truncated-indexes.bin"

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
    ! -name 'found-*' ! -name 'reencode-*' ! -name 'regress-*' -delete
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
  ! -name 'found-*' ! -name 'regress-*' -delete
cp "$ds"/*.desc "$dir/"
echo "wrote $(ls "$ds"/*.desc | wc -l) seeds to tests/fuzz/corpus/fuzz_descset"

# fuzz_compare and fuzz_rawwriter: records of the schema pairs in
# tests/fuzz/schemas/ (fuzz_pairs.h), written by protoc with the reader's
# (v1) or the writer's (v2) schema; each input is the pair's index, one
# byte, then the record.
pairs=$(mktemp -d)
trap 'rm -rf "$out" "$ds" "$pairs"' EXIT
mapfile -t pair_names < <(sed -n 's/^ *XX(\([a-z0-9_]*\)).*/\1/p' \
  "$root/tests/fuzz/fuzz_pairs.h")
pair_index() { # pair_index NAME: its position in FUZZ_PAIRS
  local i
  for i in "${!pair_names[@]}"; do
    if [[ ${pair_names[$i]} == "$1" ]]; then echo "$i"; return; fi
  done
  echo "no pair $1 in fuzz_pairs.h" >&2
  exit 1
}
penc() { # penc PAIR SIDE < text > record
  local dir=$root/tests/fuzz/schemas/$2
  protoc -I"$dir" --encode="fz.$1.$2.Rec" "$dir/$1.proto"
}
# seed NAME PAIR SIDE TEXT: the pair's byte, then TEXT encoded by SIDE.
seed() {
  local idx
  idx=$(pair_index "$2")
  { printf "\\x$(printf %02x "$idx")"; printf '%s' "$4" | penc "$2" "$3"; } \
    > "$pairs/$2-$1.bin"
}
# raw NAME PAIR FILE...: the pair's byte, then the files one after another
# (a record written in parts: protobuf parsers merge them).
raw() {
  local name=$1 pair=$2 idx
  shift 2
  idx=$(pair_index "$pair")
  { printf "\\x$(printf %02x "$idx")"; cat "$@"; } > "$pairs/$pair-$name.bin"
}

t2_v1='a: -5 b: 7 c: -3 d: 4 e: 1 f: 2.5 g: "hello" h: "\001\002" i: 9 j: true k: 11 l: 1.5 m: -2 n: 3 o: 4 p: 5'
t2_v2='a: 5000000000 b: -1 c: -5000000000 d: -7 e: 0.1 f: 18446744073709551615 g: "by\000tes" h: "text" i: -1 j: 2 k: -1 l: 4294967295 m: 1 n: 2.5 o: "str" p: 4000000000 q: "new"'
for p in types2 types3; do
  seed v1-all "$p" v1 "$t2_v1"
  seed v2-all "$p" v2 "$t2_v2"
  seed v2-in-range "$p" v2 'a: 1 b: 2 c: -3 d: 4 g: "ok" h: "ok" i: 3 j: 1 k: 5 q: "x"'
  seed v2-not-utf8 "$p" v2 'g: "\377\376" h: "\300\200"'
done
seed v1-optional-zero types3 v1 'r: 0'
seed v2-r-wide types3 v2 'r: 5000000000'

seed v1-all packed2 v1 'a: [1, 2, 3] b: [-1, 5] c: [7] d: [1.5] e: [RED, GREEN] f: [true, false] g: 4 h: [1, 2] i: [0.5] j: ["a", "b"]'
seed v2-all packed2 v2 'a: [1, 2] b: [-1] c: [-5] d: [3] e: [BLUE, DARK] f: [5, 0] g: [1, 2, 3] h: 9 i: [2.5] j: ["\377"]'
seed v2-known packed2 v2 'a: [7] e: [RED] f: [1, 0] g: [4]'
seed v1-all packed3 v1 'a: [1, 2] b: [-1] c: [7] d: [1.5] e: [MODE_ONE] f: [true] g: 3 h: [1, 2]'
seed v2-all packed3 v2 'a: [1, 2] b: [-5000000000] c: [0.5] d: [7] e: [MODE_TWO, MODE_ONE] f: [2, 18446744073709551615] g: [1, 2] h: 9 added: ["x"]'
seed v2-known packed3 v2 'a: [3] e: [MODE_ONE] f: [1] g: [5] h: 1'

seed v1-num oneof2 v1 'num: 5 after: 3 raw: "xy" p: 1'
seed v1-sub oneof2 v1 'sub { x: 1 y: "s" } after: 2'
seed v2-after oneof2 v2 'after: 7 q: "q"'
seed v2-sub oneof2 v2 'sub { x: 5000000000 z: 3 } p: 4'
seed v2-raw oneof2 v2 'raw: "bytes"'
printf 'num: 1' | penc oneof2 v1 > "$pairs/part1"
printf 'text: "later"' | penc oneof2 v1 > "$pairs/part2"
raw v1-num-then-text oneof2 "$pairs/part1" "$pairs/part2"
seed v1-num oneof3 v1 'num: 3 plain: 4 other { x: 1 tags: "a" }'
seed v1-sub oneof3 v1 'sub { x: -1 tags: "t" }'
seed v2-plain oneof3 v2 'plain: 9 other: "\001\002"'
seed v2-sub oneof3 v2 'sub { x: -3 next { x: 1 } }'
seed v2-text oneof3 v2 'text: "\377"'

seed v1-all maps3 v1 'counts { key: "a" value: 1 } by_id { key: 5 value { x: 1 s: "s" } } names { key: 1 value: "one" } blobs { key: "b" value: "\000\001" } flags { key: 3 value: true }'
seed v2-all maps3 v2 'counts { key: "a" value: 5000000000 } by_id { key: -1 value { x: 3 extra: [1, 2] } } names { key: 2 value: "two" note: 4 } blobs { key: "m" value { x: 1 } } flags { key: -1 value: true }'
seed v2-alike maps3 v2 'counts { key: "c" value: 2 } by_id { key: 1 value { x: 1 s: "t" } } names { key: 2 value: "two" }'

seed v1-all enums2 v1 'c: GREEN cs: [RED, GREEN] as_int: 2 as_enum: RED lvl: HIGH must: RED'
seed v2-all enums2 v2 'c: BLUE cs: [NEG, BIG] as_int: BLUE as_enum: 77 lvl: MID must: GREEN'
seed v2-no-must enums2 v2 'c: RED'
seed v1-all enums3 v1 'm: MODE_A ms: [MODE_A, MODE_ZERO] om: MODE_ZERO i: 1 pm: MODE_A'
seed v2-all enums3 v2 'm: MODE_B ms: [MODE_NEG] om: MODE_B i: MODE_NEG ps: "x"'
seed v2-known enums3 v2 'm: MODE_A pm: MODE_ZERO'

seed v1-all required2 v1 'id: "a" n: 3 x: 1 sub { k: 1 d: 2 } subs { k: 2 d: 3 }'
seed v2-all required2 v2 'id: "b" n: 5000000000 x: 2 sub { l: 1 d: 3 } subs { k: 1 l: 2 d: 4 }'
seed v2-minimal required2 v2 'x: 1'
seed v2-no-default required2 v2 'id: "c" x: 1 sub { k: 1 l: 1 }'
# sub written twice: the second lacks d (a required field with a default).
printf 'id: "m" sub { k: 1 d: 7 }' | penc required2 v1 > "$pairs/part1"
printf '\x22\x02\x08\x01' > "$pairs/part2"
raw v1-sub-twice required2 "$pairs/part1" "$pairs/part2"

seed v1-tree recursive2 v1 'root { v: 1 kids { v: 2 kids { v: 3 } } next { v: 4 } raw: "r" } all { v: 5 }'
seed v2-tree recursive2 v2 'root { v: 5000000000 next: "\010\001" raw { v: 1 name: "n" } name: "root" } extra { v: 1 }'
deep='v: 1'
for _ in $(seq 40); do deep="v: 1 kids { $deep } next { v: 2 }"; done
seed v1-deep recursive2 v1 "root { $deep }"

seed v1-all nested3 v1 'blob: "\010\001" msg { x: 1 s: "s" deeper { x: 2 } } text: "plain" as_msg { x: 3 } list { x: 1 } list { s: "t" }'
seed v2-all nested3 v2 'blob { x: 5000000000 more: "\377" } msg: "\010\001\022\001s" text { x: 1 } as_msg: "as" list: "\010\005" list: "zz"'
seed v2-msg-bytes nested3 v2 'blob { x: 1 s: "s" } msg: "\010\002"'

seed v1-all agree2 v1 'a: 1 s: "str" m { x: 1 y: "y" } r: [1, -1] b: true e: GREEN u: 1'
seed v2-all agree2 v2 'a: 5000000000 s: "a\000b" m { x: -1 y: "why" } r: [2] b: 7 e: 5 u: true added: "new"'
seed v2-alike agree2 v2 'a: 3 s: "same" r: [4] b: 1 u: false'
seed v1-all agree3 v1 's: "text" a: -1 r: [1, 2] b: "\000\001" kv { key: "k" value: "v" }'
seed v2-all agree3 v2 's: "nul\000inside" a: 5000000000 r: [-1] b: "str" kv { key: "k" value: "\377" }'
seed v2-alike agree3 v2 's: "same" a: 4 r: [1]'

seed v1-all optional3 v1 'a: 0 s: "" b: 3 m { note: "n" } d: 1.5 f: false'
seed v2-all optional3 v2 'a: 5 s: "s" b: 0 m { note: "" id: 7 } d: 0.5 f: true'

rm -f "$pairs/part1" "$pairs/part2"
for target in fuzz_compare fuzz_rawwriter; do
  dir=$root/tests/fuzz/corpus/$target
  mkdir -p "$dir"
  find "$dir" -maxdepth 1 -type f ! -name 'found-*' ! -name 'regress-*' -delete
  cp "$pairs"/*.bin "$dir/"
done
# Envelopes around a pair's records, for the envelope-aware readers.
for p in types2 maps3 enums2; do
  idx=$(pair_index "$p")
  printf '%s' "$t2_v2" | penc types2 v2 > "$pairs/payload"
  [[ $p == maps3 ]] && printf 'counts { key: "a" value: 5000000000 }' | penc maps3 v2 > "$pairs/payload"
  [[ $p == enums2 ]] && printf 'c: BLUE must: RED' | penc enums2 v2 > "$pairs/payload"
  for v in 1 2; do
    envelope "env-v$v" "record_type: \"fz.$p.Rec\" format_version: $v" "$pairs/payload"
    { printf "\\x$(printf %02x "$idx")"; cat "$out/env-v$v"; } \
      > "$root/tests/fuzz/corpus/fuzz_compare/$p-envelope-v$v.bin"
  done
done
echo "wrote $(ls "$pairs"/*.bin | wc -l) seeds to tests/fuzz/corpus/{fuzz_compare,fuzz_rawwriter}"
