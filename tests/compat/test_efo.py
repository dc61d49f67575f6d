"""Enhanced fan-out with boto3: consumers (register, describe by ARN and by name, the
list_stream_consumers paginator, deregister, errors) and subscribe_to_shard, which botocore
reads over HTTP/1.1 chunked: records written after subscribing arrive, continuation numbers
resume exactly, a split shard ends with ChildShards, and a takeover reaches the older
subscription as an EventStreamError."""

from __future__ import annotations

import queue
import threading
import time

import pytest
from botocore.exceptions import ClientError, EventStreamError

from harness import SpateServer, client, error_code, make_stream, stream_arn

SHARD0 = "shardId-000000000000"
WAIT = 15.0


class Subscription:
    """A subscribe_to_shard event stream, read on a thread so every wait has a deadline."""

    def __init__(self, kinesis, consumer_arn: str, shard: str, position: dict):
        deadline = time.monotonic() + 20
        while True:
            try:
                resp = kinesis.subscribe_to_shard(
                    ConsumerARN=consumer_arn, ShardId=shard, StartingPosition=position)
                break
            except ClientError as exc:
                # The previous subscription may not have been noticed as closed yet.
                if error_code(exc) != "ResourceInUseException" or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.stream = resp["EventStream"]
        self.items: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        try:
            for event in self.stream:
                self.items.put(("event", event["SubscribeToShardEvent"]))
            self.items.put(("end", None))
        except EventStreamError as exc:
            self.items.put(("error", error_code(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            self.items.put(("failed", repr(exc)))

    def next(self, timeout: float = WAIT):
        try:
            return self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout}s") from None

    def records(self, count: int) -> tuple[list[dict], str]:
        got: list[dict] = []
        deadline = time.monotonic() + 30
        while len(got) < count:
            kind, event = self.next(max(0.1, deadline - time.monotonic()))
            assert kind == "event", (kind, event)
            continuation = event["ContinuationSequenceNumber"]
            assert continuation and continuation != "0"
            got += event["Records"]
        return got, continuation

    def close(self) -> None:
        self.stream.close()


def register(kinesis, name: str, consumer: str = "boto3") -> str:
    return kinesis.register_stream_consumer(
        StreamARN=stream_arn(name), ConsumerName=consumer)["Consumer"]["ConsumerARN"]


def test_consumers_lifecycle_and_errors(kinesis):
    name = make_stream(kinesis, "efo")
    arn = stream_arn(name)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c0")["Consumer"]
    secs = int(consumer["ConsumerCreationTimestamp"].timestamp())
    assert consumer["ConsumerARN"] == f"{arn}/consumer/c0:{secs}"
    by_arn = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    by_name = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="c0")
    assert by_arn["ConsumerDescription"] == by_name["ConsumerDescription"]
    assert by_arn["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE"
    assert by_arn["ConsumerDescription"]["StreamARN"] == arn
    for i in range(1, 12):
        register(kinesis, name, f"c{i}")
    pages = kinesis.get_paginator("list_stream_consumers").paginate(
        StreamARN=arn, PaginationConfig={"PageSize": 5})
    listed = [c["ConsumerName"] for page in pages for c in page["Consumers"]]
    assert sorted(listed) == sorted(f"c{i}" for i in range(12))
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["ConsumerCount"] == 12

    with pytest.raises(ClientError) as exc:
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c0")
    assert error_code(exc.value) == "ResourceInUseException"
    with pytest.raises(ClientError) as exc:
        kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="none")
    assert error_code(exc.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        kinesis.delete_stream(StreamName=name)
    assert error_code(exc.value) == "ResourceInUseException"

    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    with pytest.raises(ClientError) as exc:
        kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert error_code(exc.value) == "ResourceNotFoundException"
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


def test_subscribe_receives_new_records_and_resumes_from_continuations(kinesis):
    name = make_stream(kinesis, "efo")
    consumer = register(kinesis, name)
    sub = Subscription(kinesis, consumer, SHARD0, {"Type": "LATEST"})
    kind, first = sub.next()
    assert kind == "event" and first["Records"] == []
    before = first["ContinuationSequenceNumber"]
    seqs = [kinesis.put_record(StreamName=name, PartitionKey="p", Data=f"r{i}".encode())
            ["SequenceNumber"] for i in range(3)]
    got, continuation = sub.records(3)
    assert [r["Data"] for r in got] == [b"r0", b"r1", b"r2"]
    assert [r["SequenceNumber"] for r in got] == seqs
    assert continuation == seqs[-1]
    sub.close()

    kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"r3")
    resumed = Subscription(kinesis, consumer, SHARD0,
                           {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": continuation})
    assert [r["Data"] for r in resumed.records(1)[0]] == [b"r3"]
    resumed.close()
    # The continuation sent before anything was delivered resumes at the very first record.
    again = Subscription(kinesis, consumer, SHARD0,
                         {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": before})
    assert [r["Data"] for r in again.records(4)[0]] == [b"r0", b"r1", b"r2", b"r3"]
    again.close()


def test_a_split_shard_ends_with_child_shards(kinesis):
    name = make_stream(kinesis, "efo")
    consumer = register(kinesis, name)
    sub = Subscription(kinesis, consumer, SHARD0, {"Type": "TRIM_HORIZON"})
    kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"parent")
    assert sub.records(1)[0][0]["Data"] == b"parent"
    kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0,
                        NewStartingHashKey=str(2**127))
    deadline = time.monotonic() + 30
    while True:
        kind, event = sub.next(max(0.1, deadline - time.monotonic()))
        assert kind == "event", (kind, event)
        if event.get("ChildShards"):
            break
    assert event.get("ContinuationSequenceNumber") is None
    children = {c["ShardId"]: c["ParentShards"] for c in event["ChildShards"]}
    assert children == {"shardId-000000000001": [SHARD0], "shardId-000000000002": [SHARD0]}
    assert sub.next()[0] == "end"


def test_a_later_subscription_takes_over():
    with SpateServer("--subscription-takeover-ms", "300", name="efo-takeover") as srv:
        kinesis = client(srv.endpoint)
        name = make_stream(kinesis, "efo")
        consumer = register(kinesis, name)
        first = Subscription(kinesis, consumer, SHARD0, {"Type": "LATEST"})
        second = Subscription(kinesis, consumer, SHARD0, {"Type": "LATEST"})
        deadline = time.monotonic() + 30
        while True:
            kind, detail = first.next(max(0.1, deadline - time.monotonic()))
            if kind != "event":
                break
        assert (kind, detail) == ("error", "ResourceInUseException")
        kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"new owner")
        assert second.records(1)[0][0]["Data"] == b"new owner"
        second.close()
