#!/usr/bin/env bash
# usock's one entry point for people and CI, run from the repository root:
#   bash scripts/dev.sh demo   installs what the demo needs (a C++ compiler, CMake), builds, runs examples/echo_demo
#   bash scripts/dev.sh test   installs what everything needs, builds everything, runs every test (ctest)
# On Debian/Ubuntu it installs missing packages with apt-get (as root, or through sudo); elsewhere it names them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: what the demo needs, and what the default test run needs besides.
DEMO_PACKAGES=(cmake g++ make)
TEST_PACKAGES=(catch2 pkg-config python3 liblwip-dev libasio-dev iproute2 clang libclang-rt-14-dev
               clang-16 libclang-rt-16-dev xz-utils debian-archive-keyring gcc-arm-none-eabi
               libstdc++-arm-none-eabi-newlib binutils-arm-none-eabi qemu-system-arm)

# missing_packages package...: those of the given packages that are not installed.
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || echo "$p"
  done
}

# install_packages package...: installs those that are missing.
install_packages() {
  command -v dpkg-query >/dev/null || { echo "usock: not a Debian system; install: $*" >&2; return; }
  local missing
  missing=$(missing_packages "$@")
  [ -z "$missing" ] && return
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then sudo=sudo; else
      echo "usock: these Debian packages are missing; install them as root: apt-get install" $missing >&2
      exit 1
    fi
  fi
  echo "usock: installing" $missing
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# build tests target...: configures build/ (with the tests: ON or OFF) and builds the targets given, or everything.
build() {
  local tests=$1
  shift
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSOCK_BUILD_TESTS="$tests" >/dev/null
  cmake --build build -j "$(nproc)" ${1:+--target "$@"}
}

case "${1:-}" in
  demo)
    install_packages "${DEMO_PACKAGES[@]}"
    build OFF usock_example_echo_demo
    ./build/examples/echo_demo
    ;;
  test)
    install_packages "${DEMO_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build ON
    # Everything but the 30 s soak (run it with: ctest --test-dir build -L soak).
    cd build && ctest --output-on-failure -j "$(nproc)" --timeout 300 -LE soak
    ;;
  *)
    echo "usage: bash scripts/dev.sh demo|test" >&2
    exit 2
    ;;
esac
