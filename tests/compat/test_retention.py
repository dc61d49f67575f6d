"""Retention is enforced: with the test-only `--retention-hour-ms`, one "hour" lasts a few
milliseconds, so records leave the stream within a second or two of being written."""

from __future__ import annotations

import time
from pathlib import Path

from harness import SpateServer, client, make_stream, read_shard

HOUR_MS = 40  # 24 "hours" = 0.96 s


def test_records_past_retention_are_not_returned():
    with SpateServer("--retention-hour-ms", str(HOUR_MS), "--retention-sweep-ms", "100",
                     name="retention") as srv:
        k = client(srv.endpoint)
        name = make_stream(k, "trim")
        shard = "shardId-000000000000"
        k.put_record(StreamName=name, Data=b"short-lived", PartitionKey="k")
        assert [r["Data"] for r in read_shard(k, name, shard)] == [b"short-lived"]
        deadline = time.monotonic() + 10
        while read_shard(k, name, shard):  # poll until trimmed
            assert time.monotonic() < deadline, "record still returned long after retention"
            time.sleep(0.05)
        # The stream still works: new records are returned, from TRIM_HORIZON too.
        put = k.put_record(StreamName=name, Data=b"fresh", PartitionKey="k")
        assert [r["SequenceNumber"] for r in read_shard(k, name, shard)] == [put["SequenceNumber"]]
        # A longer retention keeps records past the old limit.
        k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=240)  # 9.6 s
        time.sleep(24 * HOUR_MS * 1.5 / 1000)
        assert [r["Data"] for r in read_shard(k, name, shard)] == [b"fresh"]


def disk_usage(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_disk_space_is_reclaimed(tmp_path):
    data_dir = tmp_path / "data"
    with SpateServer("--retention-hour-ms", str(HOUR_MS), "--retention-sweep-ms", "100",
                     "--segment-bytes", str(256 * 1024), data_dir=data_dir,
                     name="reclaim") as srv:
        k = client(srv.endpoint)
        name = make_stream(k, "reclaim")
        # Written under a long retention (240 "hours" = 9.6 s), so a slow, busy machine cannot
        # expire the first records before the last are written; then shortened to 0.96 s.
        k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=240)
        chunk = [{"Data": bytes(1000), "PartitionKey": f"k{i}"} for i in range(400)]
        for _ in range(8):  # about 3 MiB, over a dozen segments
            assert k.put_records(StreamName=name, Records=chunk).get("FailedRecordCount", 0) == 0
        full = disk_usage(data_dir)
        assert full > 3_000_000
        k.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
        deadline = time.monotonic() + 15
        while disk_usage(data_dir) > full // 2:
            assert time.monotonic() < deadline, f"still {disk_usage(data_dir)} of {full} bytes"
            time.sleep(0.1)
        # Older segments go first; the newest records expire up to 0.96 s after the last
        # write, which a busy machine may not have reached yet.
        while (left := len(read_shard(k, name, "shardId-000000000000"))) > 0:
            assert time.monotonic() < deadline, f"{left} records still readable"
            time.sleep(0.1)
