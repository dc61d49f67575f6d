#!/usr/bin/env bash
# Runs issue 5's workloads against Spate, kinesalite 3.3.3 and the echo server (the HTTP
# ceiling) in interleaved short slices, and prints per-round ratios with their median and
# range against the targets. Every server is started fresh for each slice (a fresh data
# directory, deleted afterwards), pinned to CPU 0; the load generator runs on CPU 1.
#
# Usage: bench/compare.sh [SUITE...]       SUITE: w1 w2 w3 w4 w5 w7 (default: all of them)
# Environment:
#   ROUNDS=7 SLICE=5 WARMUP=1   rounds, measured seconds per slice, warm-up seconds
#   W3_BYTES=1GiB W7_BYTES=1GiB data written for the catch-up and recovery workloads
#   OUT=target/bench/results-DATE   where results.jsonl, bench.log and server logs go
#   SPATE_BIN=PATH              benchmark this spate binary instead of building one
#   SPATE_BASE_BIN=PATH         also run W1 and W2 against this spate binary (durable), as
#                               the arm `base`, and print this binary's ratio to it: an
#                               A/B of two builds in the same interleaved rounds
#
# Needs cargo, node and npm (kinesalite is installed into target/bench/kinesalite). Sends
# traffic to 127.0.0.1 only, stops every server it started (by PID), and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-7}
SLICE=${SLICE:-5}
WARMUP=${WARMUP:-1}
W3_BYTES=${W3_BYTES:-1GiB}
W7_BYTES=${W7_BYTES:-1GiB}
WORK=target/bench
OUT=${OUT:-$WORK/results-$(date +%Y%m%d-%H%M%S)}
DATA_PARENT=$WORK/data
RESULTS=$OUT/results.jsonl
SUITES=("$@")
[ ${#SUITES[@]} -eq 0 ] && SUITES=(w1 w2 w3 w4 w5 w7)
mkdir -p "$OUT" "$DATA_PARENT"

SPATE=${SPATE_BIN:-target/release/spate}
BENCH=target/release/spate-bench
KINESALITE_DIR=$WORK/kinesalite

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- set-up -------------------------------------------------------------------------------

if [ -n "${SPATE_BIN:-}" ]; then
  log "building spate-bench (release); spate is $SPATE_BIN"
  cargo build --release --locked -p spate-bench >&2
else
  log "building spate and spate-bench (release)"
  cargo build --release --locked -p spate -p spate-bench >&2
fi

if [ "$(node -p "try{require('./$KINESALITE_DIR/node_modules/kinesalite/package.json').version}catch(e){''}" 2>/dev/null)" != "3.3.3" ]; then
  log "installing kinesalite 3.3.3 into $KINESALITE_DIR"
  mkdir -p "$KINESALITE_DIR"
  # --ignore-scripts: leveldown's native build is only for on-disk stores; we use memdown.
  npm install --prefix "$KINESALITE_DIR" --no-audit --no-fund --ignore-scripts \
    --no-save kinesalite@3.3.3 >&2
fi

if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_PIN=(taskset -c 0)
  GEN_PIN=(taskset -c 1)
  SERVER_CPUS=0
else
  SERVER_PIN=()
  GEN_PIN=()
  SERVER_CPUS=
  log "taskset or a second CPU missing: running unpinned"
fi

{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "kernel: $(uname -srm)"
  echo "memory: $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
  echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
  echo "spate: $SPATE ($("$SPATE" --version 2>/dev/null || echo '?'))"
  echo "rounds=$ROUNDS slice=${SLICE}s warmup=${WARMUP}s pinned=${SERVER_CPUS:-no}"
} | tee "$OUT/machine.txt" >&2

# --- servers ------------------------------------------------------------------------------

SERVER_PID=
SERVER_ADDR=
SERVER_DIR=

# start_server ARM: spate (durability fsync), spate-none, kinesalite, echo, blast.
start_server() {
  local arm=$1 addr_file=$OUT/addr.$$
  : >"$addr_file"
  SERVER_DIR=
  case $arm in
    spate | spate-none | spate-base)
      local durability=fsync binary=$SPATE
      [ "$arm" = spate-none ] && durability=none
      [ "$arm" = spate-base ] && binary=$SPATE_BASE_BIN
      SERVER_DIR=$(mktemp -d "$DATA_PARENT/spate-XXXXXX")
      SPATE_LOG=warn "${SERVER_PIN[@]}" "$binary" serve --listen 127.0.0.1:0 \
        --data-dir "$SERVER_DIR" --durability "$durability" >"$addr_file" 2>>"$OUT/$arm.log" &
      ;;
    kinesalite)
      "${SERVER_PIN[@]}" node bench/kinesalite-serve.js "$KINESALITE_DIR/node_modules" 1800 \
        >"$addr_file" 2>>"$OUT/$arm.log" &
      ;;
    echo | blast)
      "${SERVER_PIN[@]}" "$BENCH" "$arm" --exit-after 1800 >"$addr_file" 2>>"$OUT/$arm.log" &
      ;;
    *) log "unknown arm $arm"; return 1 ;;
  esac
  SERVER_PID=$!
  local waited=0
  until grep -q '^listening on http://' "$addr_file"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null || [ $waited -ge 300 ]; then
      log "$arm did not start; see $OUT/$arm.log"
      stop_server
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  SERVER_ADDR=$(sed -n 's#^listening on http://##p' "$addr_file" | head -1)
  rm -f "$addr_file"
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "$SERVER_DIR" ] && rm -rf "$SERVER_DIR"
  SERVER_PID=
  SERVER_DIR=
}
# A server kept across slices (W3's), stopped on exit too.
KEPT_PID=
KEPT_DIR=
cleanup() {
  stop_server
  if [ -n "$KEPT_PID" ]; then
    SERVER_PID=$KEPT_PID SERVER_DIR=$KEPT_DIR
    KEPT_PID= KEPT_DIR=
    stop_server
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bench ROUND KEY ARGS...: one measured run against the current server, appended to RESULTS.
bench() {
  local round=$1 key=$2
  shift 2
  log "  round $round: $key"
  timeout 900 "${GEN_PIN[@]}" "$BENCH" "$@" --key "$key" --round "$round" \
    --json-out "$RESULTS" >>"$OUT/bench.log" 2>&1 || log "  $key failed (exit $?); see $OUT/bench.log"
}

# slot ROUND ARM KEY ARGS...: a fresh server of ARM for one run.
slot() {
  local round=$1 arm=$2 key=$3
  shift 3
  start_server "$arm" || return 0
  local extra=(--endpoint "$SERVER_ADDR" --server-pid "$SERVER_PID")
  case $arm in echo) extra+=(--no-setup --no-verify) ;; esac
  bench "$round" "$key" "$@" "${extra[@]}"
  stop_server
}

# interleave SLOTS...: each slot is "ARM KEY ARGS..."; round r runs them rotated by r.
interleave() {
  local slots=("$@") n=$#
  for round in $(seq 1 "$ROUNDS"); do
    for i in $(seq 0 $((n - 1))); do
      # shellcheck disable=SC2086
      slot "$round" ${slots[$(((i + round) % n))]}
    done
  done
}

RUN="run --duration $SLICE --warmup $WARMUP"
RATIOS=()

# --- suites -------------------------------------------------------------------------------

suite_w1() {
  log "W1 (+W6): PutRecord 100 B, 4 shards, 64 connections; 1 connection for latency"
  local slots=(
    "spate w1@spate $RUN --workload w1"
    "spate-none w1@spate-none $RUN --workload w1"
    "kinesalite w1@kinesalite $RUN --workload w1"
    "echo w1@echo $RUN --workload w1"
    "spate-none w1-1c@spate-none $RUN --workload w1-1c"
    "echo w1-1c@echo $RUN --workload w1-1c"
  )
  if [ -n "${SPATE_BASE_BIN:-}" ]; then
    slots+=("spate-base w1@base $RUN --workload w1")
    RATIOS+=("records_per_s w1@spate/w1@base >= 1.0 W1 durable, this binary vs SPATE_BASE_BIN (A/B)")
  fi
  interleave "${slots[@]}"
  RATIOS+=(
    "records_per_s w1@spate/w1@echo >= 0.80 W1 durable vs echo"
    "records_per_s w1@spate/w1@kinesalite >= 15 W1 durable vs kinesalite"
    "latency_p50_us w1-1c@spate-none/w1-1c@echo <= 1.4 W1 1-conn p50 (durability none) vs echo"
    "records_per_s w1@spate/w1@spate-none >= 0.80 W6 W1 durable vs none (reported)"
  )
}

suite_w2() {
  log "W2 (+CBOR, W5 load, W6): PutRecords 500 x 1 KiB, 4 shards, 8 connections"
  local slots=(
    "spate w2@spate $RUN --workload w2"
    "spate w2-cbor@spate $RUN --workload w2-cbor"
    "spate-none w2@spate-none $RUN --workload w2"
    "kinesalite w2@kinesalite $RUN --workload w2"
    "echo w2@echo $RUN --workload w2"
    "spate w5-1000@spate $RUN --workload w5-1000"
    "spate w5-100x10@spate $RUN --workload w5-100x10"
  )
  if [ -n "${SPATE_BASE_BIN:-}" ]; then
    slots+=("spate-base w2@base $RUN --workload w2")
    RATIOS+=("records_per_s w2@spate/w2@base >= 1.0 W2 durable, this binary vs SPATE_BASE_BIN (A/B)")
  fi
  interleave "${slots[@]}"
  RATIOS+=(
    "records_per_s w2@spate/w2@echo >= 0.50 W2 durable vs echo (same body)"
    "records_per_s w2@spate/w2@kinesalite >= 50 W2 durable vs kinesalite"
    "records_per_s w2-cbor@spate/w2@spate >= 1.0 W2 CBOR vs JSON"
    "records_per_s w2@spate/w2@spate-none >= 0.80 W6 W2 durable vs none"
    "records_per_s w5-1000@spate/w2@spate >= 0.80 W5 1000 shards vs W2"
    "records_per_s w5-100x10@spate/w2@spate >= 0.80 W5 100 streams x 10 shards vs W2"
  )
}

suite_w3() {
  log "W3: GetRecords catch-up of $W3_BYTES from one shard (Limit 10,000) vs loopback TCP"
  start_server spate
  KEPT_PID=$SERVER_PID KEPT_DIR=$SERVER_DIR
  SERVER_PID= SERVER_DIR=
  local spate_pid=$KEPT_PID spate_addr=$SERVER_ADDR
  timeout 900 "${GEN_PIN[@]}" "$BENCH" catchup --endpoint "$spate_addr" --server-pid "$spate_pid" \
    --fill "$W3_BYTES" --fill-only >>"$OUT/bench.log" 2>&1
  # W3 is a catch-up from the page cache. The journal writes large groups past it (direct
  # writes; docs/benchmarks.md), so one untimed catch-up reads them in first.
  timeout 900 "${GEN_PIN[@]}" "$BENCH" catchup --endpoint "$spate_addr" --codec cbor \
    >>"$OUT/bench.log" 2>&1
  local arms=(loopback json cbor)
  for round in $(seq 1 "$ROUNDS"); do
    for i in 0 1 2; do
      case ${arms[$(((i + round) % 3))]} in
        loopback)
          # The blast server takes the server CPU; Spate sits idle meanwhile.
          start_server blast
          bench "$round" loopback@blast loopback --endpoint "$SERVER_ADDR" --duration "$SLICE"
          stop_server
          ;;
        json | cbor)
          local codec=${arms[$(((i + round) % 3))]}
          bench "$round" "w3-$codec@spate" catchup --endpoint "$spate_addr" \
            --server-pid "$spate_pid" --codec "$codec"
          ;;
      esac
    done
  done
  SERVER_PID=$KEPT_PID SERVER_DIR=$KEPT_DIR
  KEPT_PID= KEPT_DIR=
  stop_server
  RATIOS+=(
    "mb_per_s w3-json@spate/loopback@blast >= 0.50 W3 JSON catch-up vs loopback TCP"
    "mb_per_s w3-cbor@spate/loopback@blast >= 0.60 W3 CBOR catch-up vs loopback TCP"
  )
}

suite_w4() {
  log "W4: put -> visible latency via SubscribeToShard and GetRecords polling (durability none)"
  local vis="visibility --duration $SLICE --warmup $WARMUP"
  interleave \
    "echo rtt@echo $RUN --workload w1-1c" \
    "echo w4-echo-10k@echo $RUN --workload w1 --rate 10000 --connections 4" \
    "spate-none w4-sub-1k@spate-none $vis --rate 1000 --shards 1 --subscribe" \
    "spate-none w4-sub-10k@spate-none $vis --rate 10000 --shards 10 --subscribe" \
    "spate-none w4-1k@spate-none $vis --rate 1000 --shards 1 --poll-interval-ms 200" \
    "spate-none w4-10k@spate-none $vis --rate 10000 --shards 10 --poll-interval-ms 200" \
    "spate-none w4-1k-p0@spate-none $vis --rate 1000 --shards 1 --poll-interval-ms 0"
  RATIOS+=(
    "visible_p50_us:latency_p50_us w4-sub-1k@spate-none/rtt@echo <= 3 W4 SubscribeToShard 1k/s 1 shard: put->event p50 vs echo 1-conn RTT p50"
    "visible_p99_us:latency_p50_us w4-sub-1k@spate-none/rtt@echo <= 10 W4 SubscribeToShard 1k/s 1 shard: put->event p99 vs echo 1-conn RTT p50"
    "visible_p50_us:latency_p50_us w4-sub-10k@spate-none/rtt@echo <= 3 W4 SubscribeToShard 10k/s 10 shards: put->event p50 vs echo 1-conn RTT p50"
    "visible_p99_us:latency_p50_us w4-sub-10k@spate-none/rtt@echo <= 10 W4 SubscribeToShard 10k/s 10 shards: put->event p99 vs echo 1-conn RTT p50"
    "latency_p99_us:latency_p50_us w4-echo-10k@echo/rtt@echo <= 10 W4 echo's own p99 under the 10k/s open-loop puts vs its RTT p50 (reported: the machine's tail)"
    "visible_p99_beyond_interval_ms w4-1k@spate-none/1 <= 1 W4 polling 1k/s 1 shard: p99 beyond the 200 ms interval, ms"
    "visible_p99_beyond_interval_ms w4-10k@spate-none/1 <= 1 W4 polling 10k/s 10 shards: p99 beyond the 200 ms interval, ms"
    "visible_p50_us:latency_p50_us w4-1k-p0@spate-none/rtt@echo <= 3 W4 back-to-back polling p50 vs echo RTT p50 (reported)"
    "visible_p99_us:latency_p50_us w4-1k-p0@spate-none/rtt@echo <= 10 W4 back-to-back polling p99 vs echo RTT p50 (reported)"
  )
}

suite_w5() {
  log "W5: CreateStream(1,000 shards), ListShards, memory per shard (10,000 shards)"
  start_server spate
  bench 1 w5-shards@spate shards --endpoint "$SERVER_ADDR" --server-pid "$SERVER_PID"
  stop_server
}

suite_w7() {
  log "W7: write $W7_BYTES, kill -9 mid-write, restart, check every acknowledged record"
  local pin=()
  [ -n "$SERVER_CPUS" ] && pin=(--server-cpus "$SERVER_CPUS")
  bench 1 w7@spate recovery --spate-bin "$SPATE" --bytes "$W7_BYTES" "${pin[@]}" \
    --data-parent "$DATA_PARENT"
}

started=$(date +%s)
for suite in "${SUITES[@]}"; do
  "suite_$suite"
done
log "done in $(($(date +%s) - started)) s; results in $RESULTS"

echo
cat "$OUT/machine.txt"
echo
"$BENCH" summarize "$RESULTS" --markdown \
  --metrics records_per_s,mb_per_s,latency_p50_us,latency_p99_us,server_cpu_us_per_req,client_cpu_util,non_2xx,failed_records,records_per_flush,disk_flushes_per_s,visible_p50_us,visible_p99_us \
  "${RATIOS[@]/#/--ratio=}" | tee "$OUT/summary.txt"
for key in w5-shards@spate w7@spate; do
  grep -h "\"key\":\"$key\"" "$RESULTS" 2>/dev/null | tail -1 || true
done | tee -a "$OUT/summary.txt"
