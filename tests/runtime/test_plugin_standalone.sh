#!/usr/bin/env bash
# runtime.plugin_standalone: examples/plugin builds on its own against an
# installed rollsafe (find_package), exports only the plugin entry points,
# and the installed `rollsafe` loads it.
#
#   test_plugin_standalone.sh BUILD_DIR SOURCE_DIR C_COMPILER
set -euo pipefail

build=$1
src=$2
cc=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$src/examples/plugin" -B "$scratch/plugin" \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$scratch/plugin" >/dev/null
so=$scratch/plugin/librollsafe_example_plugin.so
test -f "$so" || { echo "FAIL: $so was not built"; exit 1; }

syms=$(nm -D --defined-only "$so" | awk '$3 !~ /^_/ {print $3}' | sort | tr '\n' ' ')
if [[ $syms != "rollsafe_plugin_abi rollsafe_plugin_register " ]]; then
  echo "FAIL: the plugin exports: $syms"
  exit 1
fi

# example.v1.Reading {sensor: "s1", celsius_tenths: 215} as hex.
out=$(printf '0a02733110ae03' | "$scratch/prefix/bin/rollsafe" inspect \
  --plugin "$so" --type example.Reading --hex -)
python3 - "$out" <<'PY'
import json, sys
doc = json.loads(sys.argv[1])
assert doc["type"] == "example.Reading", doc["type"]
assert doc["written_version"] == 1, doc
assert doc["fields"]["sensor"] == "s1", doc["fields"]
assert doc["fields"]["celsius_tenths"] == 215, doc["fields"]
PY
echo "ok: standalone plugin built, exports its two entry points, loaded"
