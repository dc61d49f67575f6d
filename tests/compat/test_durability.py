"""Restarts on the same --data-dir: a clean SIGTERM, and kill -9 under load from several threads.
Everything acknowledged must be there afterwards, with the same sequence numbers and bytes."""

from __future__ import annotations

import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from harness import (SpateServer, client, make_stream, read_shard, stream_arn, unique,
                     wait_active)

WRITERS = 6
SHARDS = ["shardId-000000000000", "shardId-000000000001"]


def snapshot(k, name, shards):
    return {s: [(r["SequenceNumber"], r["Data"], r["PartitionKey"])
                for r in read_shard(k, name, s)] for s in shards}


def test_sigterm_restart_keeps_everything(tmp_path):
    data_dir = tmp_path / "data"
    srv = SpateServer(data_dir=data_dir, name="durable-a").start()
    try:
        k = client(srv.endpoint)
        name = make_stream(k, "durable", shards=2, Tags={"owner": "compat"})
        k.add_tags_to_stream(StreamName=name, Tags={"phase": "before"})
        k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
        entries = [{"Data": bytes([i % 256]) * (i + 1) + b"\xff\x00", "PartitionKey": f"p{i}"}
                   for i in range(60)]
        resp = k.put_records(StreamName=name, Records=entries)
        assert resp.get("FailedRecordCount", 0) == 0
        k.put_record(StreamName=name, Data=b"single", PartitionKey="p0")
        before = snapshot(k, name, SHARDS)
        assert sum(len(v) for v in before.values()) == 61
        old_iterators = {s: k.get_shard_iterator(StreamName=name, ShardId=s,
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                         for s in SHARDS}
        desc_before = k.describe_stream(StreamName=name)["StreamDescription"]
    finally:
        code = srv.stop()
    assert code == 0, f"SIGTERM exit code {code}; log {srv.log_path}"

    with SpateServer(data_dir=data_dir, name="durable-b") as again:
        k = client(again.endpoint)
        summary = wait_active(k, name)
        assert summary["RetentionPeriodHours"] == 48
        assert summary["StreamARN"] == stream_arn(name)
        desc = k.describe_stream(StreamName=name)["StreamDescription"]
        assert desc["Shards"] == desc_before["Shards"]
        assert desc["StreamCreationTimestamp"] == desc_before["StreamCreationTimestamp"]
        tags = {t["Key"]: t["Value"] for t in k.list_tags_for_stream(StreamName=name)["Tags"]}
        assert tags == {"owner": "compat", "phase": "before"}
        assert snapshot(k, name, SHARDS) == before

        for shard, it in old_iterators.items():  # issued before the restart, still valid
            got = k.get_records(ShardIterator=it, Limit=1000)["Records"]
            assert [(r["SequenceNumber"], r["Data"], r["PartitionKey"]) for r in got] == \
                before[shard]

        for shard in SHARDS:
            highest = max(int(seq) for seq, _, _ in before[shard])
            put = k.put_record(StreamName=name, Data=b"after", PartitionKey="x",
                               ExplicitHashKey="0" if shard == SHARDS[0] else str(2**128 - 1))
            assert put["ShardId"] == shard
            assert int(put["SequenceNumber"]) > highest


def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path):
    data_dir = tmp_path / "data"
    srv = SpateServer(data_dir=data_dir, name="crash-a").start()
    try:
        name = make_stream(client(srv.endpoint), "crash", shards=2)
    except BaseException:
        srv.kill()
        raise
    unexpected: list[str] = []
    acked: list[list[tuple[str, str, bytes]]] = [[] for _ in range(WRITERS)]
    stop = threading.Event()
    deadline = time.monotonic() + 20  # bounded in time and in count

    def writer(idx: int) -> None:
        c = client(srv.endpoint, attempts=1)
        route = {"PartitionKey": f"w{idx}", "ExplicitHashKey": str(idx % 2 * 2**127 + idx)}
        for n in range(5000):
            if stop.is_set() or time.monotonic() > deadline:
                return
            data = f"w{idx}-{n}-".encode() + bytes([n % 256, 0xFF])
            try:
                if n % 5 == 4:  # a batch now and then
                    batch = [{"Data": data + bytes([j]), **route} for j in range(5)]
                    resp = c.put_records(StreamName=name, Records=batch)
                    for entry, result in zip(batch, resp["Records"]):
                        if "ErrorCode" not in result:
                            acked[idx].append((result["ShardId"], result["SequenceNumber"],
                                               entry["Data"]))
                else:
                    put = c.put_record(StreamName=name, Data=data, **route)
                    acked[idx].append((put["ShardId"], put["SequenceNumber"], data))
            except (BotoCoreError, ClientError, OSError) as err:
                if not stop.is_set():  # before the kill, every write must succeed
                    unexpected.append(f"writer {idx}: {err!r}")
                return

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    try:
        for t in threads:
            t.start()
        # Let the load run until enough is acknowledged, then pull the plug mid-stream.
        while sum(map(len, acked)) < 1500 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        srv.kill()
        for t in threads:
            t.join(30)
    assert not unexpected, unexpected
    total = sum(map(len, acked))
    assert total >= 100, f"only {total} records acknowledged before the kill"
    print(f"kill -9 after {total} acknowledged records")

    with SpateServer(data_dir=data_dir, name="crash-b") as again:
        k = client(again.endpoint)
        wait_active(k, name)
        stored = {s: read_shard(k, name, s) for s in SHARDS}
        for shard, records in stored.items():
            seqs = [int(r["SequenceNumber"]) for r in records]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), shard
        by_seq = {(s, r["SequenceNumber"]): r["Data"] for s, rs in stored.items() for r in rs}
        for idx, writes in enumerate(acked):
            for shard, seq, data in writes:
                assert by_seq.get((shard, seq)) == data, f"writer {idx} lost {shard}/{seq}"
            # Each writer wrote serially to one shard: its order is kept.
            order = [int(seq) for _, seq, _ in writes]
            assert order == sorted(order), f"writer {idx} out of order"
        for shard in SHARDS:
            highest = max([int(r["SequenceNumber"]) for r in stored[shard]] or [0])
            put = k.put_record(StreamName=name, Data=b"after-crash", PartitionKey="x",
                               ExplicitHashKey="0" if shard == SHARDS[0] else str(2**128 - 1))
            assert int(put["SequenceNumber"]) > highest



def test_no_stream_stuck_after_a_crash(tmp_path):
    """Streams CREATING or DELETING when the server dies finish their transition after restart.
    (Spate keeps each transition's deadline, set when it began, across the restart.)"""
    data_dir = tmp_path / "data"
    with SpateServer(data_dir=data_dir, name="stuck-a") as srv:
        deleting = make_stream(client(srv.endpoint), "deleting")
    srv = SpateServer("--create-stream-ms", "2000", "--delete-stream-ms", "2000",
                      data_dir=data_dir, name="stuck-b").start()
    try:
        k = client(srv.endpoint)
        creating = unique("creating")
        k.create_stream(StreamName=creating, ShardCount=1)
        k.delete_stream(StreamName=deleting)
        assert k.describe_stream_summary(
            StreamName=creating)["StreamDescriptionSummary"]["StreamStatus"] == "CREATING"
        assert k.describe_stream_summary(
            StreamName=deleting)["StreamDescriptionSummary"]["StreamStatus"] == "DELETING"
    finally:
        srv.kill()
    with SpateServer(data_dir=data_dir, name="stuck-c") as again:
        k = client(again.endpoint)
        wait_active(k, creating, timeout=10)
        k.put_record(StreamName=creating, Data=b"alive", PartitionKey="k")
        k.get_waiter("stream_not_exists").wait(StreamName=deleting,
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 10})
