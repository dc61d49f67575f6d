#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while (default 60 s each; `scripts/fuzz.sh 300` for
# five minutes, or name targets after the time). Needs the nightly toolchain; installs
# cargo-fuzz if it is missing. Crashes land in fuzz/artifacts/<target>/: fix the bug, then
# copy the input to fuzz/regressions/<target>/ so the regular test suite replays it
# (crates/spate-fuzz-targets/tests/replay.rs). An empty corpus starts from the committed
# seeds, fuzz/seeds/<target>.b64 (one base64 input per line); after a long run, refresh them
# with `cargo +nightly fuzz cmin <target>` and `scripts/fuzz.sh --save-seeds`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

if [ "${1:-}" = "--save-seeds" ]; then
    mkdir -p seeds
    for dir in corpus/*/; do
        target=$(basename "$dir")
        [ -n "$(ls -A "$dir")" ] || continue
        for f in "$dir"*; do base64 -w0 "$f"; echo; done > "seeds/$target.b64"
    done
    exit 0
fi

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(json_request cbor_request eventstream sigv4_header iterator log_recovery put_fast)
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    if [ -z "$(ls -A "corpus/$target")" ] && [ -f "seeds/$target.b64" ]; then
        n=0
        while IFS= read -r line; do
            n=$((n + 1))
            printf '%s' "$line" | base64 -d > "corpus/$target/seed-$n"
        done < "seeds/$target.b64"
    fi
    seed="regressions/$target"
    [ -d "$seed" ] || seed=""
    echo "== fuzzing $target for ${seconds}s"
    cargo +nightly fuzz run "$target" "corpus/$target" $seed -- -max_total_time="$seconds" -rss_limit_mb=2048
done
