#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while (default 60 s each; `scripts/fuzz.sh 300` for
# five minutes, or name targets after the time). Needs the nightly toolchain; installs
# cargo-fuzz if it is missing. Crashes land in fuzz/artifacts/<target>/: fix the bug, then
# copy the input to fuzz/regressions/<target>/ so the regular test suite replays it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(json_request cbor_request eventstream sigv4_header iterator log_recovery)
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    seed="regressions/$target"
    [ -d "$seed" ] || seed=""
    echo "== fuzzing $target for ${seconds}s"
    cargo +nightly fuzz run "$target" "corpus/$target" $seed -- -max_total_time="$seconds" -rss_limit_mb=2048
done
