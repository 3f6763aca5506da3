#!/usr/bin/env bash
# install.deb: `cpack -G DEB` makes the package from the build tree; it holds
# the tool, the library, the headers, the CMake package, the pkg-config
# file, the man pages and the completion, and nothing of the example domain.
# It is installed with dpkg into a scratch root (dpkg -x: no maintainer
# script runs, no package database changes), and from there the tool runs
# (--version, a demo scanned), the man pages and the completion load, the
# library exports rs_ names only, and examples/service builds and runs
# against it (test_example_service.sh, with RS_INSTALLED_PREFIX).
#
#   test_deb.sh BUILD_DIR SOURCE_DIR C_COMPILER ["EXTRA_FLAGS"]
set -euo pipefail

build_dir=$1
source_dir=$2
cc=$3
extra_flags=${4:-}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "cpack -G DEB"
cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$tmp/pkg" \
  >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; exit 1; }
debs=("$tmp"/pkg/*.deb)
((${#debs[@]} == 1)) && [[ -f ${debs[0]} ]] ||
  fail "cpack made ${#debs[@]} packages: ${debs[*]}"
deb=${debs[0]}
echo "   $(basename "$deb")"

version=$("$build_dir/src/cli/rollsafe" --version | awk '{print $2}')
field() { dpkg-deb --field "$deb" "$1"; }
[[ $(field Package) == rollsafe ]] || fail "Package is $(field Package)"
[[ $(field Version) == "$version" ]] ||
  fail "Version $(field Version), the tool says $version"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] ||
  fail "Architecture $(field Architecture)"
for lib in libprotobuf-c1 libpq5 libsqlite3-0 libjansson4 libyaml-0-2 librdkafka1; do
  field Depends | grep -q "\\b$lib\\b" || fail "Depends lacks $lib: $(field Depends)"
done
field Recommends | grep -q protobuf-compiler ||
  fail "Recommends lacks protobuf-compiler (.proto schemas): $(field Recommends)"

step "contents"
dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/contents"
want=(/usr/bin/rollsafe /usr/lib/librollsafe.a /usr/lib/librollsafe.so
  /usr/include/rollsafe/rollsafe.h /usr/include/rollsafe/registry.h
  /usr/lib/cmake/rollsafe/rollsafeConfig.cmake
  /usr/lib/cmake/rollsafe/rollsafeRecordType.cmake
  /usr/lib/cmake/rollsafe/rollsafe_codegen.cmake
  /usr/lib/pkgconfig/rollsafe.pc
  /usr/share/bash-completion/completions/rollsafe
  /usr/share/man/man1/rollsafe.1.gz)
for doc in scan fix restore runs purge diff inspect demo; do
  want+=("/usr/share/rollsafe/schema/json/$doc.schema.json")
done
commands=$("$build_dir/src/cli/rollsafe" --help | awk '
  /^Commands:/ { c = 1; next } c && /^  [a-z]/ { print $1; next } c && /^$/ { exit }')
for cmd in $commands; do want+=("/usr/share/man/man1/rollsafe-$cmd.1.gz"); done
for path in "${want[@]}"; do
  grep -qxF "$path" "$tmp/contents" || fail "the package lacks $path"
done
if grep -E 'shop|\.pb-c\.h$' "$tmp/contents"; then
  fail "the package holds the example domain or generated headers"
fi
echo "   ${#want[@]} paths present, nothing of the example domain"

step "dpkg -x into a scratch root"
root=$tmp/root
dpkg -x "$deb" "$root"
rollsafe=$root/usr/bin/rollsafe

step "run the packaged tool"
out=$("$rollsafe" --version)
[[ $out == "rollsafe $version" ]] || fail "--version says '$out'"
echo "   $out"
"$rollsafe" demo -qn 50 "$tmp/demo" >/dev/null
rc=0
"$rollsafe" scan -q -c "$tmp/demo/rollsafe.yaml" --format json \
  -o"$tmp/scan.json" || rc=$?
# The demo holds records the old reader cannot read: exit 1, a report.
[[ $rc == 1 && -s $tmp/scan.json ]] || fail "scan of the demo: exit $rc"
grep -q '"command": "scan"' "$tmp/scan.json" || fail "no scan report"
echo "   demo scanned: exit 1 (findings), report written"
/usr/bin/python3 - "$tmp/scan.json" \
  "$root/usr/share/rollsafe/schema/json/scan.schema.json" <<'PY' ||
import json, sys
from jsonschema import Draft202012Validator
doc, schema = (json.load(open(p)) for p in sys.argv[1:3])
errors = list(Draft202012Validator(schema).iter_errors(doc))
for e in errors[:10]:
    print("   /%s: %s" % ("/".join(map(str, e.absolute_path)), e.message[:200]))
sys.exit(1 if errors else 0)
PY
  fail "the report does not match the packaged scan.schema.json"
echo "   the report matches the packaged scan.schema.json"

step "man pages and completion"
for page in "$root"/usr/share/man/man1/*.1.gz; do
  gzip -t "$page" || fail "$page is not gzip"
done
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$root/usr/share/man/man1/rollsafe-scan.1.gz" |
    grep -q -- '--sqlite' || fail "man cannot show rollsafe-scan(1)"
  MANPATH=$root/usr/share/man man -w rollsafe-fix >/dev/null ||
    fail "man does not find rollsafe-fix in the package's man directory"
fi
# shellcheck disable=SC2016 # expanded by the inner bash
offered=$(bash -c 'source "$1"; complete -p rollsafe >/dev/null &&
  COMP_WORDS=(rollsafe "") COMP_CWORD=1 && _rollsafe &&
  printf "%s\n" "${COMPREPLY[@]}"' bash \
  "$root/usr/share/bash-completion/completions/rollsafe")
for cmd in $commands; do
  grep -qx "$cmd" <<<"$offered" || fail "the completion does not offer $cmd"
done

step "library symbols"
bash "$source_dir/tests/install/test_symbols.sh" "$root/usr/lib/librollsafe.so"
bash "$source_dir/tests/install/test_symbols.sh" "$root/usr/lib/librollsafe.a"

step "examples/service against the package"
RS_INSTALLED_PREFIX=$root/usr bash "$source_dir/tests/install/test_example_service.sh" \
  "$build_dir" "$source_dir/examples/service" "$cc" "$extra_flags"
