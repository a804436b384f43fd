#!/usr/bin/env bash
# Builds the tests and examples under the sanitizer presets of CMakePresets.json and runs them (every label but
# fuzz, packaging, bench and soak), printing how long each preset took:
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer, -fno-sanitize-recover=all   (build-asan/)
#   tsan  ThreadSanitizer                                                            (build-tsan/)
# Usage, from anywhere:  bash scripts/sanitize.sh [asan] [tsan]   (both when none is named)
# Exits non-zero if any test fails or any sanitizer reports. Needs what scripts/dev.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(asan tsan)
jobs=$(nproc)
status=0
for preset in "${presets[@]}"; do
  case "$preset" in asan|tsan) ;; *) echo "usage: bash scripts/sanitize.sh [asan] [tsan]" >&2; exit 2 ;; esac
  start=$(date +%s)
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  if ! ctest --preset "$preset" -j "$jobs" --timeout 600; then status=1; fi
  echo "sanitize: $preset: $(( $(date +%s) - start )) s (build and tests)"
done
exit $status
