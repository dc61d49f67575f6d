#!/usr/bin/env bash
# Deterministic cost of the hot handlers: instructions (callgrind's Ir) per PutRecords(500)
# and per GetRecords(500) of 1 KiB records, in the whole Spate process's user space (hyper,
# the handler, the journal writer; the kernel is not counted), with --durability none.
#
# Each figure is a difference of two runs that differ only in the number of requests, so
# start-up, stream creation and shutdown cancel out:
#   PutRecords = (Ir(fill B) - Ir(fill A)) / (B - A)
#   GetRecords = (Ir(fill B + read) - Ir(fill A + read)) / (B - A) - PutRecords
#
# Usage: bench/callgrind.sh            Environment: A=20 B=120 (requests), SPATE_BIN=PATH
# Needs valgrind. Sends traffic to 127.0.0.1 only and stops every server it started.
set -euo pipefail
cd "$(dirname "$0")/.."

A=${A:-20}
B=${B:-120}
SPATE=${SPATE_BIN:-target/release/spate}
BENCH=target/release/spate-bench
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spate-callgrind-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
[ -n "${SPATE_BIN:-}" ] || cargo build --release --locked -p spate >&2
cargo build --release --locked -p spate-bench >&2
REQUEST_BYTES=$((500 * 1024))

# ir NAME REQUESTS READ: total Ir of one server run that takes REQUESTS PutRecords(500), then
# (READ=1) reads them all back with GetRecords(Limit 500).
ir() {
  local name=$1 requests=$2 read=$3 dir=$WORK/$1
  mkdir -p "$dir/data"
  valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    "$SPATE" serve --listen 127.0.0.1:0 --data-dir "$dir/data" --durability none \
    >"$dir/addr" 2>"$dir/log" &
  local pid=$! waited=0
  until grep -q '^listening on http://' "$dir/addr"; do
    if ! kill -0 "$pid" 2>/dev/null || [ $waited -ge 1200 ]; then
      echo "spate under valgrind did not start; see $dir/log" >&2
      kill "$pid" 2>/dev/null || true
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  local addr
  addr=$(sed -n 's#^listening on http://##p' "$dir/addr" | head -1)
  local only=(--fill-only)
  [ "$read" = 1 ] && only=()
  "$BENCH" catchup --endpoint "$addr" --fill $((requests * REQUEST_BYTES)) --limit 500 \
    --max-time 1200 "${only[@]}" >"$dir/bench.txt"
  kill -INT "$pid"
  wait "$pid" || true
  sed -n 's/^totals: *//p' "$dir/callgrind.out"
}

put_a=$(ir put-a "$A" 0)
put_b=$(ir put-b "$B" 0)
get_a=$(ir get-a "$A" 1)
get_b=$(ir get-b "$B" 1)
put=$(((put_b - put_a) / (B - A)))
get=$(((get_b - get_a) / (B - A) - put))
printf 'PutRecords(500 x 1 KiB), JSON: %d instructions per request\n' "$put"
printf 'GetRecords(Limit 500, 1 KiB records), JSON: %d instructions per request\n' "$get"
