#!/bin/sh
# make-table.sh DB: creates the SQLite database DB (default parcels.db) with
# a table `parcels (id INTEGER PRIMARY KEY, payload BLOB)` holding 8 records
# of parcels.Parcel, plain protobuf: 4 written by the old code (v1/) and 4
# by the new code (v2/). Needs protoc and the sqlite3 shell.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
db=${1:-parcels.db}

# hex of a record: protobuf text format in, version DIR's binary encoding out
record() {
  printf '%s\n' "$2" |
    protoc --encode="parcels.$1.Parcel" -I "$here/$1" "$here/$1/parcel.proto" |
    od -An -v -tx1 | tr -d ' \n'
}

rm -f "$db"
{
  echo "CREATE TABLE parcels (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);"
  n=0
  while IFS='|' read -r version text; do
    n=$((n + 1))
    echo "INSERT INTO parcels VALUES ($n, X'$(record "$version" "$text")');"
  done <<ROWS
v1|id: "p-1001" weight_kg: 1.5 destination: "Lyon"
v1|id: "p-1002" weight_kg: 0.25 destination: "Porto"
v1|id: "p-1003" weight_kg: 12 destination: "Graz"
v1|id: "p-1004" destination: "Turku"
v2|id: "p-1005" weight_kg: 2.5 destination: "Gent"
v2|id: "p-1006" weight_kg: 0.75 destination: "Bern" gift_note: "Happy birthday"
v2|id: "p-1007" weight_kg: 4 destination: "Oslo"
v2|id: "p-1008" destination: "Riga" gift_note: "For Anna"
ROWS
} | sqlite3 "$db"
echo "$db: 8 parcels, 4 written by version 1 and 4 by version 2"
