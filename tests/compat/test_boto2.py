"""Legacy boto 2 (`boto.kinesis.layer1.KinesisConnection`, boto 2.49.0) against Spate.

boto 2 derives the SigV4 credential scope from the host name: for host '127.0.0.1' it signs
with region '0' and service '127' (`.../0/127/aws4_request`), and it sends the `Host` header of
its region's endpoint. Spate must ignore that nonsense scope and use its configured region; the
ARNs it reports must say us-east-1. See conftest.py for the (small) Python 3.11 shim.
"""

from __future__ import annotations

import base64
import time

import pytest

from harness import ACCOUNT, REGION, md5_hash_key, unique

from boto.kinesis import exceptions as kexc
from boto.kinesis.layer1 import KinesisConnection
from boto.regioninfo import RegionInfo


def connect(port: int, region: RegionInfo | None = None) -> KinesisConnection:
    kwargs = {"region": region} if region else {}
    return KinesisConnection(host="127.0.0.1", port=port, is_secure=False,
                             aws_access_key_id="test", aws_secret_access_key="test", **kwargs)


@pytest.fixture(scope="module")
def conn(server):
    return connect(server.port)


def wait_active(conn, name, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        desc = conn.describe_stream(name)["StreamDescription"]
        if desc["StreamStatus"] == "ACTIVE":
            return desc
        assert time.monotonic() < deadline, desc["StreamStatus"]
        time.sleep(0.05)


def all_streams(conn) -> list[str]:
    names: list[str] = []
    while True:
        page = conn.list_streams(limit=7, exclusive_start_stream_name=names[-1] if names else None)
        names += page["StreamNames"]
        if not page["HasMoreStreams"]:
            return names


def test_credential_scope_is_nonsense():
    """Documents what boto 2 really signs with, so the test below means something."""
    c = connect(1)
    request = c.build_base_http_request(
        "POST", "/", "/", {}, {"Host": c.region.endpoint, "X-Amz-Target": "x"}, "{}", c.host)
    c._auth_handler.add_auth(request)
    assert "/0/127/aws4_request," in request.headers["Authorization"]
    assert c.region.endpoint == "kinesis.us-east-1.amazonaws.com"  # the Host header it sends


def test_boto2_round_trip(conn):
    name = unique("boto2")
    assert conn.create_stream(name, 2) is None
    desc = wait_active(conn, name)
    assert desc["StreamARN"] == f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"
    assert [s["ShardId"] for s in desc["Shards"]] == ["shardId-000000000000",
                                                      "shardId-000000000001"]
    assert name in all_streams(conn)

    puts = []
    for i in range(6):
        key = f"key-{i}"
        data = f"boto2 record {i}".encode() + b"\x00\xff"
        put = conn.put_record(name, data, key)
        expected = 0 if md5_hash_key(key) < 2**127 else 1
        assert put["ShardId"] == f"shardId-00000000000{expected}"
        puts.append((put["ShardId"], put["SequenceNumber"], data, key))
    # str data is UTF-8 encoded then base64-encoded by boto 2.
    text_put = conn.put_record(name, "plain text ✓", "text-key")

    for shard_id in ("shardId-000000000000", "shardId-000000000001"):
        it = conn.get_shard_iterator(name, shard_id, "TRIM_HORIZON")["ShardIterator"]
        # boto 2's own b64_decode turns Data into str via UTF-8, which fails on binary data:
        # decode it here instead.
        got = conn.get_records(it, limit=100, b64_decode=False)
        for record in got["Records"]:
            record["Data"] = base64.b64decode(record["Data"])
        expected = [(seq, data, key) for sid, seq, data, key in puts if sid == shard_id]
        if text_put["ShardId"] == shard_id:
            expected.append((text_put["SequenceNumber"], "plain text ✓".encode(), "text-key"))
        assert [(r["SequenceNumber"], r["Data"], r["PartitionKey"]) for r in got["Records"]] \
            == expected
        assert got["NextShardIterator"]
        assert got["MillisBehindLatest"] == 0

    first = puts[0]
    after = conn.get_shard_iterator(name, first[0], "AFTER_SEQUENCE_NUMBER",
                                    starting_sequence_number=first[1])["ShardIterator"]
    after_records = conn.get_records(after, b64_decode=False)["Records"]
    assert first[1] not in [r["SequenceNumber"] for r in after_records]
    # Text records decode with boto 2's default b64_decode (to str).
    text_it = conn.get_shard_iterator(name, text_put["ShardId"], "AT_SEQUENCE_NUMBER",
                                      starting_sequence_number=text_put["SequenceNumber"])
    text = conn.get_records(text_it["ShardIterator"], limit=1)["Records"]
    assert [r["Data"] for r in text] == ["plain text ✓"]

    conn.add_tags_to_stream(name, {"legacy": "boto2"})
    assert conn.list_tags_for_stream(name)["Tags"] == [{"Key": "legacy", "Value": "boto2"}]

    assert conn.delete_stream(name) is None
    deadline = time.monotonic() + 15
    while True:
        try:
            conn.describe_stream(name)
        except kexc.ResourceNotFoundException:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_boto2_errors(conn):
    with pytest.raises(kexc.ResourceNotFoundException) as err:
        conn.describe_stream(unique("missing"))
    assert err.value.status == 400
    name = unique("boto2dup")
    conn.create_stream(name, 1)
    with pytest.raises(kexc.ResourceInUseException):
        conn.create_stream(name, 1)
    wait_active(conn, name)
    with pytest.raises(kexc.InvalidArgumentException):
        conn.get_records("not-a-real-iterator")


def test_boto2_with_named_region(server):
    """A RegionInfo whose name is nonsense and whose endpoint is 127.0.0.1 (Host header too)."""
    conn = connect(server.port, RegionInfo(name="moon-north-7", endpoint="127.0.0.1"))
    name = unique("boto2region")
    conn.create_stream(name, 1)
    desc = wait_active(conn, name)
    assert desc["StreamARN"].startswith(f"arn:aws:kinesis:{REGION}:")
    conn.put_record(name, b"x", "k")
    it = conn.get_shard_iterator(name, "shardId-000000000000", "LATEST")["ShardIterator"]
    assert conn.get_records(it)["Records"] == []
