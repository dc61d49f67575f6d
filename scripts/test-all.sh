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
