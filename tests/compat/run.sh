#!/usr/bin/env bash
# Spate's client compatibility suite: real AWS clients, unchanged but for the endpoint, against
# the built server binary (black box: it is started on 127.0.0.1:0 and its port read from the
# `listening on http://ADDR` line it prints).
#
#   bash tests/compat/run.sh                        # uses target/debug/spate (builds it if absent)
#   SPATE_BIN=/path/to/spate bash tests/compat/run.sh
#   bash tests/compat/run.sh -k cbor                # extra arguments go to pytest
#
# Needs only python3 (3.11), node 20 and npm: it creates tests/compat/.venv from the pinned
# requirements.txt and installs node_modules from package-lock.json (npm ci), reusing both when
# they are up to date. Server logs go to tests/compat/.logs/.
#
# What each suite covers:
#   test_boto3.py       boto3: CreateStream (provisioned, on-demand, with tags), the stream_exists /
#                       stream_not_exists waiters (also on a server with CREATING/DELETING delays),
#                       DescribeStream + its shard paginator, DescribeStreamSummary, ListStreams
#                       paginator (NextToken, Limit, ExclusiveStartStreamName), ListShards
#                       (NextToken, MaxResults, every ShardFilter type), tags by name and by ARN,
#                       retention bounds, DescribeLimits, DeleteStream, StreamARN in place of
#                       StreamName, and the error codes (ResourceNotFound, ResourceInUse,
#                       Validation, UnknownOperation for unsupported operations) with RequestIds.
#   test_boto3_data.py  boto3 data plane: MD5 routing against the hash ranges, ExplicitHashKey (and
#                       >= 2^128 refused), the 56-digit sequence-number layout, PutRecords of 500
#                       in order, all five iterator types, AT_TIMESTAMP, GetRecords Limit/order/
#                       binary bytes/MillisBehindLatest, an empty read keeping its position,
#                       forged and stale iterators, ExpiredIteratorException (second server with
#                       --iterator-ttl-ms 1) and fresh lifetimes for NextShardIterator.
#   test_cli.py         AWS CLI v1 (python -m awscli): create/wait/describe/list/put (raw and
#                       fileb://)/put-records/get-shard-iterator/get-records/tags/retention/delete.
#   test_boto2.py       legacy boto 2 (boto.kinesis.layer1), which signs 127.0.0.1 requests with a
#                       nonsense region in its credential scope.
#   test_cbor.py        hand-built Java-SDK-shaped CBOR (indefinite-length maps, byte-string blobs,
#                       tag-1 epoch-millisecond timestamps) for Create/Put/PutRecords/
#                       GetShardIterator(AT_TIMESTAMP)/GetRecords, CBOR replies and errors.
#   test_protocol.py    raw HTTP/1.1: 403 for GET / wrong Content-Type, UnknownOperation,
#                       MissingAuthenticationToken, SerializationException bodies, 413 for an
#                       oversized Content-Length (unread) or chunked body, x-amzn-RequestId
#                       everywhere, keep-alive.
#   test_durability.py  restart on the same --data-dir after SIGTERM (stream, tags, retention,
#                       records, old iterators, higher new sequence numbers) and after kill -9
#                       under load from several threads (every acknowledged record, in order);
#                       streams CREATING/DELETING at a kill -9 are not stuck after restart.
#   test_encryption.py  boto3 Start/StopStreamEncryption (alias/aws/kinesis and a --kms-key-file
#                       key named by UUID, key ARN, alias and alias ARN): UPDATING then ACTIVE,
#                       EncryptionType/KeyId in Describe*, on puts and on each record (KMS while
#                       on, NONE before and after), KMSNotFound/KMSDisabled, a wrong key to stop.
#   test_retention.py   retention enforced with the test-only --retention-hour-ms: expired records
#                       are not returned (nor brought back by a longer retention) and their disk
#                       space is reclaimed.
#   test_segments.py    records across a dozen small journal segments (--segment-bytes) read back
#                       whole and in order from TRIM_HORIZON and from sequence numbers inside
#                       finished (memory-mapped) segments, before and after a restart.
#   test_policies.py    boto3 get/put/delete_resource_policy, a refused Condition, and
#                       AccessDeniedException ClientErrors for a credential's explicit Deny and
#                       for another account until the stream's policy shares it (--auth sigv4).
#   test_efo.py         boto3 enhanced fan-out: consumers (register, describe by ARN and name, the
#                       list_stream_consumers paginator, deregister, EnforceConsumerDeletion) and
#                       subscribe_to_shard over HTTP/1.1 chunked: new records pushed, continuation
#                       numbers that resume, ChildShards after a split, takeover as an
#                       EventStreamError (second server with --subscription-takeover-ms).
#   js/efo.test.mjs     JS v3 SubscribeToShardCommand over h2c: new records, continuations that
#                       resume, ChildShards after a split.
#   js/kinesis.test.mjs @aws-sdk/client-kinesis v3 over HTTP/2 (h2c prior knowledge, asserted):
#                       create + waitUntilStreamExists, describe/list/put/put-records/iterators/
#                       get-records/tags/retention/delete, errors as the modeled exception classes,
#                       ~5 MiB bodies both ways (flow control), 50 concurrent streams on one
#                       connection.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$HERE"

SPATE_BIN="${SPATE_BIN:-target/debug/spate}"
case "$SPATE_BIN" in /*) ;; *) SPATE_BIN="$REPO/$SPATE_BIN" ;; esac
if [[ ! -x "$SPATE_BIN" ]]; then
    if [[ "$SPATE_BIN" == "$REPO/target/debug/spate" ]]; then
        echo "== building $SPATE_BIN (cargo build -p spate)"
        (cd "$REPO" && cargo build --locked -p spate)
    else
        echo "SPATE_BIN=$SPATE_BIN is not an executable file" >&2
        exit 2
    fi
fi
export SPATE_BIN

# --- Python clients --------------------------------------------------------------------------
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
stamp=".venv/.requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [[ ! -x .venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "== installing Python clients into tests/compat/.venv"
    # Python 3.11 if there is one by that name: boto 2 cannot import on 3.12+ (no `imp`).
    python="$(command -v python3.11 || command -v python3)"
    "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet -r requirements.txt
    echo "$want" > "$stamp"
fi

# --- JS client -------------------------------------------------------------------------------
lock_stamp="node_modules/.package-lock.sha256"
if [[ -f package-lock.json ]]; then
    lock_want="$(sha256sum package-lock.json | cut -d' ' -f1)"
    if [[ "$(cat "$lock_stamp" 2>/dev/null)" != "$lock_want" ]]; then
        echo "== npm ci"
        npm ci --no-audit --no-fund --loglevel=error
        echo "$lock_want" > "$lock_stamp"
    fi
else
    npm install --no-audit --no-fund --loglevel=error
fi

# --- Run -------------------------------------------------------------------------------------
rm -rf .logs  # server logs of the previous run
start=$SECONDS
status=0
echo "== pytest (boto3, AWS CLI v1, boto 2, CBOR, protocol, durability) against $SPATE_BIN"
.venv/bin/python -m pytest -p no:cacheprovider -q -ra "$@" || status=1
if [[ $# -eq 0 ]]; then
    echo "== node --test (@aws-sdk/client-kinesis v3 over HTTP/2)"
    node --test js/ || status=1
fi
echo "== compat suite finished in $((SECONDS - start)) s: $([[ $status -eq 0 ]] && echo passed || echo FAILED)"
exit "$status"
