#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite:
#   1. unit, loopback integration and end-to-end tests (release build, -Werror)
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. a short libFuzzer run of every fuzz target (clang)
#   4. clang-format check
# `scripts/test.sh --quick` runs step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[[ "${1:-}" == "--quick" ]] && quick=1
jobs=$(nproc)

# Debian packages (Chromium for the dashboard test), and the npm packages of
# tests/support: real GitHub webhook payloads, and playwright-core.
scripts/install-deps.sh
# The dispatcher's tests run containers on a real Docker daemon, from images built here.
scripts/start-dockerd.sh
tests/support/images/busybox.sh
# The end-to-end tests train a real PyTorch model: a CPU image from Debian's python3-torch.
docker/pytorch-cpu/build.sh

echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

((quick)) && exit 0

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
# Two tests measure the process's own resources, which the sanitizers change: ASan
# replaces malloc (its quarantine holds freed memory, so RSS does not come back), and
# UBSan's vptr check probes memory through a pipe, which fails once labelrun is out of
# file descriptors. The release step above runs them.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j "$jobs" \
  -E '^ServerLimitsTest\.(AcceptOutOfDescriptorsLogsOnceAndRecovers|MemoryReturnsAfterALargeDelivery)$'

echo "== fuzzing (${FUZZ_SECONDS:=30}s per target)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
corpus_root=build/fuzz/corpus
node tests/fuzz/make_corpus.js "$corpus_root/delivery_fuzz"
for target in build/fuzz/*_fuzz; do
  name=$(basename "$target")
  mkdir -p "$corpus_root/$name"
  seeds=()
  [[ -d "tests/fuzz/corpus/$name" ]] && seeds+=("tests/fuzz/corpus/$name")
  log="build/fuzz/$name.log"
  if "$target" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -artifact_prefix=build/fuzz/ \
      "$corpus_root/$name" "${seeds[@]}" >"$log" 2>&1; then
    echo "$name: $(grep -E '^#[0-9]+.*DONE' "$log" | tail -n 1)"
  else
    cat "$log"
    echo "$name: FAILED (crash input saved under build/fuzz/)"
    exit 1
  fi
done

echo "== clang-format"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror
echo "all checks passed"
