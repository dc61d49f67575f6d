"""Hand-built CBOR requests shaped like the Java SDK's (v1/v2 and so KCL), over HTTP/1.1.

Jackson's streaming generator writes indefinite-length maps and arrays (0xBF ... 0xFF, 0x9F ...
0xFF); blobs are byte strings; timestamps are tag 1 with an integer of epoch MILLISECONDS (not
seconds, against RFC 8949). Replies must be CBOR too, with integer-millisecond timestamps.
"""

from __future__ import annotations

import http.client
import time

import cbor2
import pytest

from harness import md5_hash_key, unique

CBOR = "application/x-amz-cbor-1.1"
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00")


class Raw(bytes):
    """Already-encoded CBOR."""


class Tagged1(int):
    """An integer that came under CBOR tag 1."""


def enc(value) -> bytes:
    return bytes(value) if isinstance(value, Raw) else cbor2.dumps(value)


def imap(**fields) -> Raw:
    """An indefinite-length map, as Jackson writes it."""
    return Raw(b"\xbf" + b"".join(enc(k) + enc(v) for k, v in fields.items()) + b"\xff")


def iarray(*items) -> Raw:
    return Raw(b"\x9f" + b"".join(enc(i) for i in items) + b"\xff")


def ts_ms(ms: int) -> Raw:
    return Raw(cbor2.dumps(cbor2.CBORTag(1, ms)))


def now_ms() -> int:
    return int(time.time() * 1000)


def decode(body: bytes):
    # cbor2 would turn tag 1 into a datetime from *seconds*; keep the raw integer instead.
    return cbor2.loads(body, semantic_decoders={1: lambda value, *_: Tagged1(value)})


def call(endpoint: str, op: str, body: bytes, content_type: str = CBOR):
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/", body=body, headers={
            "Content-Type": content_type, "X-Amz-Target": f"Kinesis_20131202.{op}",
            "Authorization": AUTH, "X-Amz-Date": "20260101T000000Z",
            "User-Agent": "aws-sdk-java/1.12.700 Linux/6 OpenJDK_64-Bit_Server_VM/17",
            "amz-sdk-invocation-id": "0f0e0d0c-0b0a-0908-0706-050403020100",
        })
        resp = conn.getresponse()
        data = resp.read()
        assert resp.getheader("x-amzn-RequestId"), (op, resp.status)
        if data:
            assert resp.getheader("Content-Type") == CBOR, (op, resp.getheader("Content-Type"))
        return resp.status, (decode(data) if data else None)
    finally:
        conn.close()


def ok(endpoint, op, body):
    status, reply = call(endpoint, op, body)
    assert status == 200, (op, reply)
    return reply


def is_int_ms(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@pytest.fixture(scope="module")
def stream(endpoint):
    name = unique("cbor")
    reply = ok(endpoint, "CreateStream", imap(StreamName=name, ShardCount=2))
    assert reply in (None, {})
    deadline = time.monotonic() + 15
    while True:
        summary = ok(endpoint, "DescribeStreamSummary", imap(StreamName=name))
        summary = summary["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    created = summary["StreamCreationTimestamp"]
    assert is_int_ms(created) and abs(created - now_ms()) < 60_000, created
    return name


def test_put_and_get_with_at_timestamp(endpoint, stream):
    start = now_ms() - 1000
    payload = bytes(range(256)) + b"\xff\xfe not utf-8"
    put = ok(endpoint, "PutRecord", imap(StreamName=stream, Data=payload, PartitionKey="alpha"))
    assert md5_hash_key("alpha") < 2**127  # so "alpha" belongs to the first of two shards
    assert put["ShardId"] == "shardId-000000000000"
    assert isinstance(put["SequenceNumber"], str) and put["SequenceNumber"].isdigit()

    batch = ok(endpoint, "PutRecords", imap(StreamName=stream, Records=iarray(
        *[imap(Data=f"batch-{i}".encode(), PartitionKey="alpha") for i in range(3)],
        imap(Data=b"\x00", PartitionKey="alpha", ExplicitHashKey=str(2**128 - 1)),
    )))
    assert batch.get("FailedRecordCount", 0) == 0
    assert [r["ShardId"] for r in batch["Records"][:3]] == [put["ShardId"]] * 3
    assert batch["Records"][3]["ShardId"] == "shardId-000000000001"

    it = ok(endpoint, "GetShardIterator", imap(
        StreamName=stream, ShardId=put["ShardId"], ShardIteratorType="AT_TIMESTAMP",
        Timestamp=ts_ms(start)))["ShardIterator"]
    got = ok(endpoint, "GetRecords", imap(ShardIterator=it, Limit=100))
    records = got["Records"]
    assert [r["Data"] for r in records] == [payload] + [f"batch-{i}".encode() for i in range(3)]
    for record in records:
        assert isinstance(record["Data"], bytes)  # a byte string, not base64 text
        arrival = record["ApproximateArrivalTimestamp"]
        assert is_int_ms(arrival), arrival  # integer epoch milliseconds, never a float
        assert abs(arrival - now_ms()) < 60_000, arrival
        assert record["PartitionKey"] == "alpha"
    assert [r["SequenceNumber"] for r in records[:1]] == [put["SequenceNumber"]]
    assert is_int_ms(got["MillisBehindLatest"]) and got["MillisBehindLatest"] == 0
    assert isinstance(got["NextShardIterator"], str)

    # AT_TIMESTAMP at the second record's arrival, as an untagged integer this time.
    second = records[1]["ApproximateArrivalTimestamp"]
    it2 = ok(endpoint, "GetShardIterator", cbor2.dumps({
        "StreamName": stream, "ShardId": put["ShardId"], "ShardIteratorType": "AT_TIMESTAMP",
        "Timestamp": int(second)}))["ShardIterator"]
    later = ok(endpoint, "GetRecords", cbor2.dumps({"ShardIterator": it2}))["Records"]
    assert later and all(r["ApproximateArrivalTimestamp"] >= second for r in later)
    assert later[-1]["Data"] == b"batch-2"


def test_definite_length_maps_and_describe(endpoint, stream):
    desc = ok(endpoint, "DescribeStream", cbor2.dumps({"StreamName": stream, "Limit": 1}))
    desc = desc["StreamDescription"]
    assert len(desc["Shards"]) == 1 and desc["HasMoreShards"] is True
    assert is_int_ms(desc["StreamCreationTimestamp"])
    created = desc["StreamCreationTimestamp"]
    listed = ok(endpoint, "ListShards", imap(StreamName=stream,
                                             StreamCreationTimestamp=ts_ms(int(created))))
    assert [s["ShardId"] for s in listed["Shards"]] == ["shardId-000000000000",
                                                       "shardId-000000000001"]
    shards = ok(endpoint, "ListShards", imap(StreamName=stream, ShardFilter=imap(
        Type="AT_TIMESTAMP", Timestamp=ts_ms(now_ms()))))["Shards"]
    assert len(shards) == 2
    streams = ok(endpoint, "ListStreams", imap())
    assert stream in streams["StreamNames"] or streams["HasMoreStreams"]


def test_cbor_errors(endpoint, stream):
    status, reply = call(endpoint, "DescribeStream", imap(StreamName=unique("nope")))
    assert status == 400
    assert reply["__type"].split("#")[-1] == "ResourceNotFoundException"
    assert isinstance(reply["message"], str) and reply["message"]

    status, reply = call(endpoint, "PutRecord", imap(
        StreamName=stream, Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128)))
    assert status == 400 and reply["__type"] == "InvalidArgumentException"

    status, reply = call(endpoint, "CreateStream", imap(StreamName="bad name", ShardCount=1))
    assert status == 400 and reply["__type"] == "ValidationException"

    status, reply = call(endpoint, "GetRecords", imap(ShardIterator="forged-iterator"))
    assert status == 400 and reply["__type"] == "InvalidArgumentException"

    for garbage in (b"\xbf\x6aStreamName", b"\xff\xff", b"\x1c"):
        status, reply = call(endpoint, "DescribeStream", garbage)
        assert status == 400 and reply["__type"] == "SerializationException", garbage
    # A blob given as text where a byte string belongs is a type error, not a crash.
    status, reply = call(endpoint, "PutRecord", imap(StreamName=stream, Data=["x"],
                                                     PartitionKey="k"))
    assert status == 400 and reply["__type"] == "SerializationException"
    assert ok(endpoint, "ListStreams", imap(Limit=1))["StreamNames"]
