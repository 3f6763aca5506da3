# shellcheck shell=bash
# Sourced by .ci/test and .ci/demo: the Debian 12 packages rollsafe's build
# and tests need, and a function that installs the missing ones.

# One list for everything: compilers and build tools, protobuf-c (runtime and
# code generator), descriptor.proto (libprotobuf-dev: runtime schemas arrive
# as FileDescriptorSets), protoc and Python's protobuf (the second implementation
# that writes golden fixtures), check (unit tests), jansson (the CLI's JSON
# output), libyaml, SQLite and libpq (scan targets and configuration), clang
# (header test) with its libFuzzer and sanitizer runtimes (libclang-rt-14-dev:
# .ci/fuzz), valgrind (memcheck runs of the test binaries), PyYAML (tests
# of the CI and Kubernetes examples), librdkafka (Kafka topic targets; its
# mock cluster runs the Kafka tests), Python's confluent-kafka (the tests'
# producer and group-offset committer), and the runtimes whose readers the
# runtime table is checked against (docs/runtimes.md): the C++ runtime
# (libprotobuf-dev, g++), Java (libprotobuf-java, default-jdk-headless) and
# Go (golang-go, golang-google-protobuf-dev, built offline in GOPATH mode),
# help2man (the man pages, made at build time from the help text),
# python3-jsonschema (the reports are validated against schema/json/) and dpkg
# (the .deb that cpack builds is installed into a scratch root by the
# package test; dpkg-shlibdeps names the library packages it depends on).
# Debian 12's protoc (3.21) cannot compile protobuf editions; the editions
# tests (tests/editions/) build their descriptor sets with buf, from the npm
# registry (rs_install_buf below), so npm comes from Debian when missing.
RS_PACKAGES=(
  build-essential cmake pkg-config
  protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev
  protobuf-compiler python3 python3-protobuf
  check libjansson-dev libyaml-dev libsqlite3-dev libpq-dev
  postgresql-15 postgresql-client-15 sqlite3 python3-psycopg2 python3-yaml
  clang libclang-rt-14-dev valgrind
  default-jdk-headless libprotobuf-java golang-go golang-google-protobuf-dev
  librdkafka-dev python3-confluent-kafka
  help2man python3-jsonschema dpkg dpkg-dev
)

# Installs whatever in RS_PACKAGES is missing; runs apt-get update only then.
rs_install_packages() {
  local missing=() pkg
  for pkg in "${RS_PACKAGES[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "== packages: all present"
    return 0
  fi
  echo "== packages: installing ${missing[*]}"
  if ((EUID != 0)); then
    echo "missing packages and not root: apt-get install ${missing[*]}" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
}

# buf (npm @bufbuild/buf, pinned) for the editions tests: installed under
# RS_NPM_PREFIX (default /var/cache/rollsafe/npm; cache that directory in CI)
# once, again only when the pinned version changes. npm itself (and node)
# comes from Debian when there is none on PATH.
RS_BUF_VERSION=1.75.0
RS_NPM_PREFIX=${RS_NPM_PREFIX:-/var/cache/rollsafe/npm}
rs_install_buf() {
  local buf="$RS_NPM_PREFIX/node_modules/.bin/buf"
  if [[ -x $buf ]] && [[ $("$buf" --version 2>/dev/null) == "$RS_BUF_VERSION" ]]; then
    echo "== buf $RS_BUF_VERSION: present in $RS_NPM_PREFIX"
    return 0
  fi
  if ! command -v npm >/dev/null; then
    if ((EUID != 0)); then
      echo "npm missing and not root: apt-get install nodejs npm" >&2
      return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends nodejs npm
  fi
  echo "== buf: npm install @bufbuild/buf@$RS_BUF_VERSION into $RS_NPM_PREFIX"
  mkdir -p "$RS_NPM_PREFIX"
  npm install --prefix "$RS_NPM_PREFIX" --no-audit --no-fund \
    "@bufbuild/buf@$RS_BUF_VERSION"
  "$buf" --version
}
