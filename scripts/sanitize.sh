#!/usr/bin/env bash
# Builds the tests and examples under the sanitizer presets of CMakePresets.json and runs them (every label but
# fuzz, packaging, bench and soak, or the one label named), printing how long each preset took:
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer, -fno-sanitize-recover=all   (build-asan/)
#   tsan  ThreadSanitizer                                                            (build-tsan/)
#   clang-asyncio  clang 16 with AddressSanitizer + UndefinedBehaviorSanitizer, the asyncio layer's tests and
#         examples only (label asyncio; g++ 12 has coroutine bugs, so the coroutine code is checked with both)
#                                                                                    (build-clang/)
#   clang-asyncio-tsan  the same with clang 16's ThreadSanitizer                     (build-clang-tsan/)
# The firmware images (Arm code) are not built under the sanitizers; the default run checks them.
# Usage, from anywhere:  bash scripts/sanitize.sh [asan] [tsan] [clang-asyncio] [clang-asyncio-tsan]   (all when none
# is named)
# Exits non-zero if any test fails or any sanitizer reports. Needs what scripts/dev.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(asan tsan clang-asyncio clang-asyncio-tsan)
jobs=$(nproc)
status=0
for preset in "${presets[@]}"; do
  case "$preset" in
    asan|tsan|clang-asyncio|clang-asyncio-tsan) ;;
    *) echo "usage: bash scripts/sanitize.sh [asan] [tsan] [clang-asyncio] [clang-asyncio-tsan]" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  if ! ctest --preset "$preset" -j "$jobs" --timeout 600; then status=1; fi
  echo "sanitize: $preset: $(( $(date +%s) - start )) s (build and tests)"
done
exit $status
