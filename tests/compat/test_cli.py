"""The AWS CLI v1 (awscli from PyPI, run as `python -m awscli` from the venv) against Spate.

CLI v1 takes blob arguments such as `put-record --data` as raw text and base64-encodes them
itself (v1 has no --cli-binary-format; that is v2, whose default is the opposite). Binary data
goes in with `fileb://`. `get-records` prints Data base64-encoded in its JSON output.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from harness import REGION, stream_arn, unique


@pytest.fixture(scope="module")
def aws(endpoint):
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "2"})

    def run(*args: str, check: bool = True):
        cmd = [sys.executable, "-m", "awscli", "--endpoint-url", endpoint, "--region", REGION,
               "--output", "json", "kinesis", *args]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if check:
            assert proc.returncode == 0, f"{args}: rc={proc.returncode}\n{proc.stderr}"
            return json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc

    return run


def test_cli_stream_lifecycle(aws, tmp_path):
    name = unique("cli")
    assert aws("create-stream", "--stream-name", name, "--shard-count", "2") is None
    aws("wait", "stream-exists", "--stream-name", name)

    summary = aws("describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2
    assert summary["StreamARN"] == stream_arn(name)
    assert isinstance(summary["StreamCreationTimestamp"], (int, float, str))

    assert name in aws("list-streams")["StreamNames"]
    desc = aws("describe-stream", "--stream-name", name)["StreamDescription"]
    assert [s["ShardId"] for s in desc["Shards"]] == ["shardId-000000000000",
                                                      "shardId-000000000001"]

    # Text data: CLI v1 base64-encodes it on the wire, so the stored bytes are the text.
    put = aws("put-record", "--stream-name", name, "--partition-key", "pk",
              "--data", "hello from cli v1")
    assert put["ShardId"] == "shardId-000000000000"  # MD5("pk") is in the lower half
    assert put["SequenceNumber"].isdigit()
    # Binary data through fileb://.
    blob = bytes(range(256))
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    put2 = aws("put-record", "--stream-name", name, "--partition-key", "pk",
               "--data", f"fileb://{path}")
    assert int(put2["SequenceNumber"]) > int(put["SequenceNumber"])

    it = aws("get-shard-iterator", "--stream-name", name, "--shard-id", put["ShardId"],
             "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    got = aws("get-records", "--shard-iterator", it)
    records = got["Records"]
    assert [base64.b64decode(r["Data"]) for r in records] == [b"hello from cli v1", blob]
    assert [r["SequenceNumber"] for r in records] == [put["SequenceNumber"], put2["SequenceNumber"]]
    assert [r["PartitionKey"] for r in records] == ["pk", "pk"]
    assert got["NextShardIterator"]
    assert got["MillisBehindLatest"] == 0

    at = aws("get-shard-iterator", "--stream-name", name, "--shard-id", put["ShardId"],
             "--shard-iterator-type", "AFTER_SEQUENCE_NUMBER",
             "--starting-sequence-number", put["SequenceNumber"])["ShardIterator"]
    assert [r["SequenceNumber"] for r in aws("get-records", "--shard-iterator", at,
                                             "--limit", "5")["Records"]] == [put2["SequenceNumber"]]

    aws("add-tags-to-stream", "--stream-name", name, "--tags", "team=data,env=test")
    tags = aws("list-tags-for-stream", "--stream-name", name)
    assert tags["Tags"] == [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "data"}]
    assert tags["HasMoreTags"] is False
    aws("remove-tags-from-stream", "--stream-name", name, "--tag-keys", "env")
    assert aws("list-tags-for-stream", "--stream-name", name)["Tags"] == [
        {"Key": "team", "Value": "data"}]

    aws("increase-stream-retention-period", "--stream-name", name,
        "--retention-period-hours", "72")
    assert aws("describe-stream-summary", "--stream-name", name)[
        "StreamDescriptionSummary"]["RetentionPeriodHours"] == 72
    aws("decrease-stream-retention-period", "--stream-name", name,
        "--retention-period-hours", "24")
    assert aws("describe-stream-summary", "--stream-name", name)[
        "StreamDescriptionSummary"]["RetentionPeriodHours"] == 24
    bad = aws("decrease-stream-retention-period", "--stream-name", name,
              "--retention-period-hours", "12", check=False)
    assert bad.returncode != 0 and "InvalidArgumentException" in bad.stderr

    aws("delete-stream", "--stream-name", name)
    aws("wait", "stream-not-exists", "--stream-name", name)
    missing = aws("describe-stream-summary", "--stream-name", name, check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def test_cli_put_records_and_errors(aws):
    name = unique("clibatch")
    aws("create-stream", "--stream-name", name, "--shard-count", "1")
    aws("wait", "stream-exists", "--stream-name", name)
    # CLI v1 treats blobs inside the JSON of --records as raw text too, and base64-encodes them.
    entries = [{"Data": f"b{i}", "PartitionKey": f"k{i}"} for i in range(5)]
    resp = aws("put-records", "--stream-name", name, "--records", json.dumps(entries))
    assert resp["FailedRecordCount"] == 0 and len(resp["Records"]) == 5
    it = aws("get-shard-iterator", "--stream-name", name, "--shard-id", "shardId-000000000000",
             "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    data = [base64.b64decode(r["Data"]) for r in aws("get-records", "--shard-iterator", it)["Records"]]
    assert data == [f"b{i}".encode() for i in range(5)]

    dup = aws("create-stream", "--stream-name", name, "--shard-count", "1", check=False)
    assert dup.returncode != 0 and "ResourceInUseException" in dup.stderr
    bad = aws("create-stream", "--stream-name", "no spaces allowed", "--shard-count", "1",
              check=False)
    assert bad.returncode != 0 and "ValidationException" in bad.stderr
