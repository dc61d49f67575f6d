"""boto3 against Spate: the data plane (PutRecord(s), shard iterators, GetRecords)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from botocore.exceptions import ClientError

from harness import (MAX_HASH, SpateServer, client, error_code, make_stream, md5_hash_key,
                     read_shard, shard_for)

BINARY = bytes(range(256)) + b"\x00\xff\xfe\x80\xc3\x28 not utf-8"


def shards_of(kinesis, name):
    return kinesis.list_shards(StreamName=name)["Shards"]


def iterator(kinesis, name, shard_id, kind, **kw):
    return kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType=kind,
                                      **kw)["ShardIterator"]


def test_put_record_routes_by_md5(kinesis):
    name = make_stream(kinesis, "route", shards=4)
    shards = shards_of(kinesis, name)
    last_seq: dict[str, int] = {}
    for i in range(40):
        key = f"partition-{i}-ü"
        put = kinesis.put_record(StreamName=name, Data=f"r{i}".encode(), PartitionKey=key)
        assert put["ResponseMetadata"]["RequestId"]
        assert put["ShardId"] == shard_for(shards, md5_hash_key(key)), key
        seq = put["SequenceNumber"]
        assert seq.isdigit() and len(seq) == 56, seq  # AWS's 56-digit layout
        assert int(seq) > last_seq.get(put["ShardId"], 0)
        last_seq[put["ShardId"]] = int(seq)
    assert len(last_seq) == 4  # 40 random-ish keys reach all four shards
    # Reference example: MD5("pk") = 38317986088707300215492326132921849533, in shard 0 of 4.
    assert md5_hash_key("pk") == 38317986088707300215492326132921849533
    assert kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="pk")["ShardId"] == \
        "shardId-000000000000"


def test_sequence_number_layout(kinesis):
    """AWS's 56-digit layout (reference §5.1), as hex nibbles: [0] = 2, [1..10) shard creation
    seconds, [11..27) per-shard counter, [29..38) arrival seconds, [38..46) shard index, [46] = 2."""
    name = make_stream(kinesis, "layout", shards=3)
    created = kinesis.describe_stream_summary(
        StreamName=name)["StreamDescriptionSummary"]["StreamCreationTimestamp"].timestamp()
    for index in range(3):
        key = str(index * ((2**128) // 3))
        seqs = [kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k",
                                   ExplicitHashKey=key)["SequenceNumber"] for _ in range(2)]
        for seq in seqs:
            nibbles = format(int(seq), "x")
            assert len(seq) == 56 and len(nibbles) == 47, seq
            assert nibbles[0] == "2" and nibbles[46] == "2", nibbles
            assert int(nibbles[38:46], 16) == index, nibbles
            assert abs(int(nibbles[1:10], 16) - created) < 5, nibbles
            assert abs(int(nibbles[29:38], 16) - time.time()) < 60, nibbles
        assert int(format(int(seqs[1]), "x")[11:27], 16) > int(format(int(seqs[0]), "x")[11:27], 16)


def test_explicit_hash_key(kinesis):
    name = make_stream(kinesis, "ehk", shards=3)
    for shard in shards_of(kinesis, name):
        for key in (shard["HashKeyRange"]["StartingHashKey"], shard["HashKeyRange"]["EndingHashKey"]):
            # The partition key alone would route elsewhere for most shards; ExplicitHashKey wins.
            put = kinesis.put_record(StreamName=name, Data=b"e", PartitionKey="pk",
                                     ExplicitHashKey=key)
            assert put["ShardId"] == shard["ShardId"], key
    put = kinesis.put_record(StreamName=name, Data=b"e", PartitionKey="pk",
                             ExplicitHashKey=str(MAX_HASH))
    assert put["ShardId"] == "shardId-000000000002"
    with pytest.raises(ClientError) as err:  # one bad entry fails the whole batch
        kinesis.put_records(StreamName=name, Records=[
            {"Data": b"ok", "PartitionKey": "pk"},
            {"Data": b"bad", "PartitionKey": "pk", "ExplicitHashKey": str(MAX_HASH + 1)}])
    assert error_code(err.value) == "InvalidArgumentException"
    for bad in (str(MAX_HASH + 1), str(10**39 - 1)):
        with pytest.raises(ClientError) as err:
            kinesis.put_record(StreamName=name, Data=b"e", PartitionKey="pk", ExplicitHashKey=bad)
        assert error_code(err.value) == "InvalidArgumentException", bad


def test_put_records_500_in_order(kinesis):
    name = make_stream(kinesis, "batch", shards=3)
    shards = shards_of(kinesis, name)
    entries = [{"Data": f"rec-{i}".encode() + BINARY[i % 7:], "PartitionKey": f"pk-{i}"}
               for i in range(500)]
    resp = kinesis.put_records(StreamName=name, Records=entries)
    assert resp.get("FailedRecordCount", 0) == 0
    assert len(resp["Records"]) == 500
    per_shard: dict[str, list[tuple[str, bytes]]] = {}
    for entry, result in zip(entries, resp["Records"]):
        assert "ErrorCode" not in result
        assert result["ShardId"] == shard_for(shards, md5_hash_key(entry["PartitionKey"]))
        per_shard.setdefault(result["ShardId"], []).append((result["SequenceNumber"], entry["Data"]))
    for shard_id, written in per_shard.items():
        seqs = [int(s) for s, _ in written]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # request order per shard
        got = read_shard(kinesis, name, shard_id)
        assert [(r["SequenceNumber"], r["Data"]) for r in got] == written


def test_iterator_types(kinesis):
    name = make_stream(kinesis, "iters")
    shard = "shardId-000000000000"
    seqs = [kinesis.put_record(StreamName=name, Data=f"d{i}".encode(),
                               PartitionKey="k")["SequenceNumber"] for i in range(5)]

    def first_data(it):
        return [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]]

    assert first_data(iterator(kinesis, name, shard, "TRIM_HORIZON")) == \
        [f"d{i}".encode() for i in range(5)]
    at = iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
    assert first_data(at) == [b"d2", b"d3", b"d4"]
    after = iterator(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
    assert first_data(after) == [b"d3", b"d4"]
    after_last = iterator(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER",
                          StartingSequenceNumber=seqs[4])
    assert first_data(after_last) == []

    # LATEST: nothing now; records written afterwards are seen through the returned iterator.
    latest = iterator(kinesis, name, shard, "LATEST")
    empty = kinesis.get_records(ShardIterator=latest)
    assert empty["Records"] == [] and empty["MillisBehindLatest"] == 0
    assert empty["NextShardIterator"]  # with a fresh lifetime: see test_next_iterator_is_fresh
    kinesis.put_record(StreamName=name, Data=b"late-1", PartitionKey="k")
    kinesis.put_record(StreamName=name, Data=b"late-2", PartitionKey="k")
    later = kinesis.get_records(ShardIterator=empty["NextShardIterator"])
    assert [r["Data"] for r in later["Records"]] == [b"late-1", b"late-2"]
    # The first (never used) LATEST iterator also still points before the late records.
    assert first_data(latest) == [b"late-1", b"late-2"]


def test_at_timestamp(kinesis):
    name = make_stream(kinesis, "ts")
    shard = "shardId-000000000000"
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    kinesis.put_record(StreamName=name, Data=b"old", PartitionKey="k")
    time.sleep(0.02)  # arrival timestamps have millisecond precision
    kinesis.put_record(StreamName=name, Data=b"new", PartitionKey="k")
    records = read_shard(kinesis, name, shard)
    arrivals = [r["ApproximateArrivalTimestamp"] for r in records]
    assert arrivals[0] < arrivals[1]
    now = dt.datetime.now(dt.timezone.utc)
    for arrival in arrivals:
        assert abs((now - arrival).total_seconds()) < 60

    def data_from(ts):
        got = read_shard(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=ts)
        return [r["Data"] for r in got]

    assert data_from(before) == [b"old", b"new"]  # before everything = TRIM_HORIZON
    assert data_from(arrivals[1]) == [b"new"]  # at a record's timestamp includes it
    assert data_from(arrivals[0] + dt.timedelta(milliseconds=1)) == [b"new"]
    assert data_from(time.time()) == []  # epoch seconds are accepted too
    with pytest.raises(ClientError) as err:
        iterator(kinesis, name, shard, "AT_TIMESTAMP",
                 Timestamp=now + dt.timedelta(hours=1))
    assert error_code(err.value) == "InvalidArgumentException"


def test_get_records_limit_bytes_and_lag(kinesis):
    name = make_stream(kinesis, "getrec")
    shard = "shardId-000000000000"
    payloads = [BINARY, b"", b"\x00", "ünïcödé ✓".encode()] + [f"n{i}".encode() for i in range(6)]
    payloads = [p for p in payloads if p]  # every payload non-empty
    for i, data in enumerate(payloads):
        kinesis.put_record(StreamName=name, Data=data, PartitionKey=f"ключ-{i}")
    it = iterator(kinesis, name, shard, "TRIM_HORIZON")
    got = []
    while True:
        resp = kinesis.get_records(ShardIterator=it, Limit=3)
        assert len(resp["Records"]) <= 3
        got += resp["Records"]
        it = resp["NextShardIterator"]
        if len(got) >= len(payloads):
            break
        assert len(resp["Records"]) == 3
    assert [r["Data"] for r in got] == payloads
    assert [r["PartitionKey"] for r in got] == [f"ключ-{i}" for i in range(len(payloads))]
    seqs = [int(r["SequenceNumber"]) for r in got]
    assert seqs == sorted(seqs)
    assert resp["MillisBehindLatest"] == 0
    # Behind the tip, the lag is time-based: the last record came >= 50 ms after the first.
    time.sleep(0.05)
    kinesis.put_record(StreamName=name, Data=b"tip", PartitionKey="k")
    first = kinesis.get_records(ShardIterator=iterator(kinesis, name, shard, "TRIM_HORIZON"),
                                Limit=1)
    assert first["MillisBehindLatest"] >= 40, first["MillisBehindLatest"]
    it = kinesis.get_records(ShardIterator=it)["NextShardIterator"]  # past "tip"
    tail = kinesis.get_records(ShardIterator=it)
    assert tail["Records"] == [] and tail["MillisBehindLatest"] == 0
    kinesis.put_record(StreamName=name, Data=b"after-empty", PartitionKey="k")
    again = kinesis.get_records(ShardIterator=tail["NextShardIterator"])
    assert [r["Data"] for r in again["Records"]] == [b"after-empty"]


def test_sequence_number_for_ordering(kinesis):
    name = make_stream(kinesis, "ordering")
    # Partition keys count Unicode characters (1..256), not bytes.
    kinesis.put_record(StreamName=name, Data=b"u", PartitionKey="ü" * 256)
    first = kinesis.put_record(StreamName=name, Data=b"1", PartitionKey="k")["SequenceNumber"]
    second = kinesis.put_record(StreamName=name, Data=b"2", PartitionKey="k",
                                SequenceNumberForOrdering=first)["SequenceNumber"]
    assert int(second) > int(first)


def test_bad_iterators(kinesis):
    name = make_stream(kinesis, "forged")
    shard = "shardId-000000000000"
    seq = kinesis.put_record(StreamName=name, Data=b"secret", PartitionKey="k")["SequenceNumber"]
    two = make_stream(kinesis, "forged2", shards=2)
    other_seq = kinesis.put_record(StreamName=two, Data=b"0", PartitionKey="k",
                                   ExplicitHashKey="0")["SequenceNumber"]
    good = iterator(kinesis, name, shard, "TRIM_HORIZON")
    middle = len(good) // 2
    flipped = good[:middle] + ("A" if good[middle] != "A" else "B") + good[middle + 1:]
    for forged in (flipped, good[:-4], "AAAAAAAAAAAAAAAAnot-an-iterator", "x"):
        with pytest.raises(ClientError) as err:
            kinesis.get_records(ShardIterator=forged)
        assert error_code(err.value) == "InvalidArgumentException", forged
    # Mixing up sequence numbers and iterator types is refused too.
    with pytest.raises(ClientError) as err:
        iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER")
    assert error_code(err.value) == "InvalidArgumentException"
    with pytest.raises(ClientError) as err:
        iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber="12345")
    assert error_code(err.value) == "InvalidArgumentException"
    with pytest.raises(ClientError) as err:  # TRIM_HORIZON takes no sequence number
        iterator(kinesis, name, shard, "TRIM_HORIZON", StartingSequenceNumber=seq)
    assert error_code(err.value) == "InvalidArgumentException"
    with pytest.raises(ClientError) as err:  # a sequence number of another shard
        iterator(kinesis, two, "shardId-000000000001", "AT_SEQUENCE_NUMBER",
                 StartingSequenceNumber=other_seq)
    assert error_code(err.value) == "InvalidArgumentException"
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=good)["Records"]] == [b"secret"]


def test_iterator_of_a_deleted_and_recreated_stream(kinesis):
    name = make_stream(kinesis, "reborn")
    kinesis.put_record(StreamName=name, Data=b"first life", PartitionKey="k")
    old = iterator(kinesis, name, "shardId-000000000000", "TRIM_HORIZON")
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 1})
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1})
    kinesis.put_record(StreamName=name, Data=b"second life", PartitionKey="k")
    # The old iterator belongs to a stream that no longer exists: it must not read the new one.
    with pytest.raises(ClientError) as err:
        kinesis.get_records(ShardIterator=old)
    assert error_code(err.value) in ("ResourceNotFoundException", "InvalidArgumentException",
                                     "ExpiredIteratorException")
    assert [r["Data"] for r in read_shard(kinesis, name, "shardId-000000000000")] == [
        b"second life"]


def test_expired_iterator():
    with SpateServer("--iterator-ttl-ms", "1", name="ttl") as srv:
        k = client(srv.endpoint)
        name = make_stream(k, "expiry")
        it = iterator(k, name, "shardId-000000000000", "TRIM_HORIZON")
        deadline = time.monotonic() + 10
        while True:  # the iterator lives 1 ms; poll until the server says so
            try:
                k.get_records(ShardIterator=it)
            except ClientError as err:
                assert error_code(err) == "ExpiredIteratorException"
                assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
                break
            assert time.monotonic() < deadline, "iterator never expired"
            time.sleep(0.01)


def test_next_iterator_is_fresh():
    """Every GetRecords returns a NEW iterator with a fresh lifetime, empty reads included, so a
    consumer polling an idle shard never sees ExpiredIteratorException (reference §3.2, §5.4)."""
    with SpateServer("--iterator-ttl-ms", "1500", name="fresh") as srv:
        k = client(srv.endpoint)
        name = make_stream(k, "fresh")
        it = iterator(k, name, "shardId-000000000000", "TRIM_HORIZON")
        seen = []
        end = time.monotonic() + 3.5  # well past the 1.5 s lifetime of the first iterator
        while time.monotonic() < end:
            resp = k.get_records(ShardIterator=it)
            seen += [r["Data"] for r in resp["Records"]]
            it = resp["NextShardIterator"]
            time.sleep(0.1)
        k.put_record(StreamName=name, Data=b"late", PartitionKey="k")
        assert [r["Data"] for r in k.get_records(ShardIterator=it)["Records"]] == [b"late"]
        assert seen == []
