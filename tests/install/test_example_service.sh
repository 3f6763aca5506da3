#!/usr/bin/env bash
# install.example_service: install the build into a scratch prefix, then build
# and run examples/service against it twice: through the CMake package
# (find_package(rollsafe)) and through pkg-config (rollsafe.pc).
#
#   test_example_service.sh BUILD_DIR EXAMPLE_DIR C_COMPILER ["EXTRA_FLAGS"]
#
# EXTRA_FLAGS are compile and link flags the consumer needs because of how
# the library was built (the -fsanitize flags of an RS_SANITIZE build).
set -euo pipefail

build_dir=$1
example_dir=$2
cc=$3
extra_flags=${4:-}
read -r -a extra <<<"$extra_flags"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf '== %s\n' "$*"; }

step "install to $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log"; exit 1; }

# The example domain's generated headers are public; the envelope's is not.
for h in shop/v1/order.pb-c.h shop/v2/order.pb-c.h rollsafe.h; do
  [[ -f $prefix/include/rollsafe/$h ]] || { echo "not installed: $h" >&2; exit 1; }
done
if find "$prefix" -name 'envelope.pb-c.h' | grep -q .; then
  echo "the envelope's generated header was installed" >&2
  exit 1
fi

# GNUInstallDirs chose the library directory at configure time (lib, lib64
# or lib/<multiarch>); find it through the installed files.
pcfile=$(find "$prefix" -name rollsafe.pc -path '*/pkgconfig/*' | head -n1)
[[ -n $pcfile ]] || { echo "rollsafe.pc was not installed" >&2; exit 1; }
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
[[ -e $libdir/librollsafe.so && -e $libdir/librollsafe.a ]] ||
  { echo "librollsafe.so/.a missing in $libdir" >&2; exit 1; }

step "find_package(rollsafe): configure and build examples/service"
cmake -S "$example_dir" -B "$tmp/build" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$extra_flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$extra_flags" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }

step "run the find_package build"
# The build tree's RPATH points at $libdir: no LD_LIBRARY_PATH needed.
"$tmp/build/example_service"

step "pkg-config rollsafe: $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs rollsafe)"
# shellcheck disable=SC2046 # pkg-config output is meant to be split
"$cc" -std=c11 "${extra[@]}" -o "$tmp/example_service_pc" \
  "$example_dir/main.c" $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs rollsafe)

step "run the pkg-config build"
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/example_service_pc"
