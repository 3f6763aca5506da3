#!/usr/bin/env bash
# install.example_service: install the build into a scratch prefix, then build
# and run examples/service (its own record type, payments.Payment) against
# it three ways: through the CMake package (find_package(rollsafe) and
# rollsafe_add_record_type(), with the shared and with the static library)
# and through pkg-config (examples/service/Makefile: protoc-c and
# rollsafe_codegen.cmake by hand).
#
#   test_example_service.sh BUILD_DIR EXAMPLE_DIR C_COMPILER ["EXTRA_FLAGS"]
#
# EXTRA_FLAGS are compile and link flags the consumer needs because of how
# the library was built (the -fsanitize flags of an RS_SANITIZE build).
# With RS_INSTALLED_PREFIX set, BUILD_DIR is not installed: the example is
# built against that prefix, an installation moved from where it was
# installed to (the .deb's /usr, extracted elsewhere by test_deb.sh):
# pkg-config is told the new prefix.
set -euo pipefail

build_dir=$1
example_dir=$2
cc=$3
extra_flags=${4:-}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf '== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

pkg_config=(pkg-config)
if [[ -n ${RS_INSTALLED_PREFIX:-} ]]; then
  prefix=$RS_INSTALLED_PREFIX
  pkg_config=(pkg-config "--define-variable=prefix=$prefix")
  step "installed at $prefix"
else
  step "install to $prefix"
  cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; exit 1; }
fi

[[ -f $prefix/include/rollsafe/rollsafe.h ]] || fail "rollsafe.h not installed"
# Neither the example domain nor the envelope's generated code is public.
for name in shop.h 'order.pb-c.h' 'envelope.pb-c.h'; do
  if find "$prefix" -name "$name" | grep -q .; then
    fail "$name was installed"
  fi
done

# GNUInstallDirs chose the library directory at configure time (lib, lib64
# or lib/<multiarch>); find it through the installed files.
pcfile=$(find "$prefix" -name rollsafe.pc -path '*/pkgconfig/*' | head -n1)
[[ -n $pcfile ]] || fail "rollsafe.pc was not installed"
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
[[ -e $libdir/librollsafe.so && -e $libdir/librollsafe.a ]] ||
  fail "librollsafe.so/.a missing in $libdir"
codegen=$(PKG_CONFIG_PATH=$pcdir "${pkg_config[@]}" --variable=codegen rollsafe)
[[ -f $codegen ]] || fail "pkg-config's codegen ($codegen) is not a file"

run_example() { # run_example LABEL BINARY [env...]
  local label=$1 bin=$2
  shift 2
  step "run the $label build"
  env "$@" "$bin" | tee "$tmp/$label.out"
  grep -q '^all values survived$' "$tmp/$label.out" ||
    fail "$label: the example did not finish"
  grep -q '^strict read refused: RS_OPT_STRICT: payments.Payment v2 read as v1 is lossy: status(4) altered' "$tmp/$label.out" ||
    fail "$label: no strict refusal"
}

for kind in shared static; do
  step "find_package(rollsafe), $kind: configure and build examples/service"
  static=OFF
  [[ $kind == static ]] && static=ON
  cmake -S "$example_dir" -B "$tmp/build-$kind" \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" \
    -DEXAMPLE_STATIC=$static \
    -DCMAKE_C_FLAGS="$extra_flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$extra_flags" >"$tmp/configure-$kind.log" ||
    { cat "$tmp/configure-$kind.log"; exit 1; }
  cmake --build "$tmp/build-$kind" >"$tmp/build-$kind.log" ||
    { cat "$tmp/build-$kind.log"; exit 1; }
  # The registration code is generated, not taken from the source tree.
  [[ -f $tmp/build-$kind/rollsafe_gen/example_service/payments_payment_rollsafe.c ]] ||
    fail "$kind: rollsafe_add_record_type wrote no registration code"
  # The build tree's RPATH points at $libdir: no LD_LIBRARY_PATH needed.
  run_example "find_package-$kind" "$tmp/build-$kind/example_service"
done
if ldd "$tmp/build-static/example_service" | grep -q librollsafe; then
  fail "the static build links librollsafe.so"
fi

step "pkg-config rollsafe: $(PKG_CONFIG_PATH=$pcdir "${pkg_config[@]}" --cflags --libs rollsafe)"
cp -r "$example_dir" "$tmp/src"
PKG_CONFIG_PATH=$pcdir make -C "$tmp/src" O="$tmp/build-pc" CC="$cc" \
  PKG_CONFIG="${pkg_config[*]}" \
  CFLAGS="$extra_flags" LDFLAGS="$extra_flags" >"$tmp/make.log" 2>&1 ||
  { cat "$tmp/make.log"; exit 1; }
run_example pkg-config "$tmp/build-pc/example_service" \
  LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# The complaint this layout answers: a service that generates, for its own
# use, code the library also holds (shop.v1.Order, which is rollsafe's demo
# type, and descriptor.proto, which the library reads schemas with) links
# the static library without a duplicate definition, and its descriptors
# are its own.
step "a service with its own shop.v1.Order and descriptor.proto, linked statically"
source_dir=$(cd "$example_dir/../.." && pwd)
own=$tmp/own
mkdir -p "$own"
descriptor_proto=$(find /usr/include /usr/local/include -path '*/google/protobuf/descriptor.proto' 2>/dev/null | head -n1)
[[ -n $descriptor_proto ]] || fail "google/protobuf/descriptor.proto not found"
pb_include=${descriptor_proto%/google/protobuf/descriptor.proto}
protoc-c --c_out="$own" -I"$source_dir/schema" "$source_dir/schema/shop/v1/order.proto"
protoc-c --c_out="$own" -I"$pb_include" "$descriptor_proto"
cat >"$own/own.c" <<'C'
#include <stdio.h>
#include <rollsafe/rollsafe.h>
#include "google/protobuf/descriptor.pb-c.h"
#include "shop/v1/order.pb-c.h"

int main(void) {
  rs_error err = RS_ERROR_INIT;
  rs_registry_builder *b = NULL;
  rs_registry *reg = NULL;
  /* The service registers its own shop.Order (its own descriptor). */
  if (rs_registry_builder_new(&b, NULL, &err) != 0 ||
      rs_registry_builder_add_version(b, "shop.Order", 1,
                                      &shop__v1__order__descriptor,
                                      RS_ENCODING_RAW, &err) != 0 ||
      rs_registry_build(&reg, b, &err) != 0) {
    fprintf(stderr, "own: %s\n", err.message);
    return 1;
  }
  int ok = rs_registry_descriptor(reg, "shop.Order", 1) ==
               &shop__v1__order__descriptor &&
           google__protobuf__file_descriptor_set__descriptor.n_fields == 1;
  printf("own descriptors: %s (librollsafe %s)\n", ok ? "ok" : "WRONG",
         rs_version());
  rs_registry_free(reg);
  return ok ? 0 : 1;
}
C
# shellcheck disable=SC2046 # pkg-config output is meant to be split
"$cc" -std=c11 $extra_flags -I"$own" -o "$own/own" "$own/own.c" \
  "$own/shop/v1/order.pb-c.c" "$own/google/protobuf/descriptor.pb-c.c" \
  $(PKG_CONFIG_PATH=$pcdir "${pkg_config[@]}" --cflags rollsafe) \
  "$libdir/librollsafe.a" $(pkg-config --libs libprotobuf-c) -ldl \
  2>"$own/link.log" || { cat "$own/link.log"; fail "the static link failed"; }
"$own/own"
