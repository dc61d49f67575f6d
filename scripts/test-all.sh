#!/usr/bin/env bash
# Runs every test of Spate on a fresh machine: the Rust unit, property, black-box and crash
# tests, then the client compatibility suites (boto3, AWS CLI, boto 2, JS v3, CBOR), which
# install their own Python venv and node_modules under tests/compat/.
#
# Everything is built once, in the dev profile: the binary the compat suites start is the
# same target/debug/spate that `cargo test` built for the Rust black-box tests.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked --workspace
SPATE_BIN="$PWD/target/debug/spate" bash tests/compat/run.sh

# The fuzz targets' kept inputs and a few thousand random ones run above on stable
# (spate-fuzz-targets). With SPATE_FUZZ_SECONDS=N, each target also runs under libFuzzer
# for N seconds (needs the nightly toolchain).
if [ -n "${SPATE_FUZZ_SECONDS:-}" ]; then
    bash scripts/fuzz.sh "$SPATE_FUZZ_SECONDS"
fi
