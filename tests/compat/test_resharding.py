"""Resharding through boto3 and the AWS CLI v1: split, merge, update-shard-count, stream
modes, and ListShards filters over the resulting lineage."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from harness import REGION, error_code, make_stream, read_shard, stream_arn, unique


def open_shards(shards: list[dict]) -> list[dict]:
    return sorted((s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]),
                  key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))


def test_split_merge_and_lineage(kinesis):
    name = make_stream(kinesis, "split", shards=2)
    kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"before",
                       ExplicitHashKey="0")
    middle = str(2 ** 126)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=middle)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    assert [s["ShardId"] for s in shards][-2:] == ["shardId-000000000002", "shardId-000000000003"]
    assert all(s["ParentShardId"] == "shardId-000000000000" for s in shards[2:])
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]

    # Reading the parent ends with its children and no next iterator.
    it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    resp = kinesis.get_records(ShardIterator=it)
    assert [r["Data"] for r in resp["Records"]] == [b"before"]
    assert "NextShardIterator" not in resp or resp["NextShardIterator"] is None
    assert [c["ShardId"] for c in resp["ChildShards"]] == ["shardId-000000000002",
                                                          "shardId-000000000003"]

    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000003",
                         AdjacentShardToMerge="shardId-000000000001")
    merged = kinesis.list_shards(StreamName=name)["Shards"][-1]
    assert (merged["ParentShardId"], merged["AdjacentParentShardId"]) == (
        "shardId-000000000003", "shardId-000000000001")
    with pytest.raises(ClientError) as err:
        kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000002",
                             AdjacentShardToMerge="shardId-000000000000")
    assert error_code(err.value) == "InvalidArgumentException"

    # ShardFilter over the lineage.
    def listed(**filt):
        return [s["ShardId"] for s in kinesis.list_shards(StreamName=name, ShardFilter=filt)["Shards"]]
    assert listed(Type="AT_LATEST") == ["shardId-000000000002", "shardId-000000000004"]
    assert len(listed(Type="FROM_TRIM_HORIZON")) == 5
    assert listed(Type="AT_TRIM_HORIZON") == ["shardId-000000000000", "shardId-000000000001"]
    assert listed(Type="AFTER_SHARD_ID", ShardId="shardId-000000000002") == [
        "shardId-000000000003", "shardId-000000000004"]
    now = datetime.datetime.now(datetime.timezone.utc)
    assert listed(Type="AT_TIMESTAMP", Timestamp=now) == ["shardId-000000000002",
                                                        "shardId-000000000004"]
    assert len(listed(Type="FROM_TIMESTAMP", Timestamp=now - datetime.timedelta(hours=1))) == 5

    # Everything written is still readable, parent first.
    kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"after", ExplicitHashKey="0")
    assert [r["Data"] for r in read_shard(kinesis, name, "shardId-000000000002")] == [b"after"]


def test_update_shard_count_and_modes(kinesis):
    name = make_stream(kinesis, "rescale", shards=2)
    out = kinesis.update_shard_count(StreamName=name, TargetShardCount=3,
                                     ScalingType="UNIFORM_SCALING")
    assert (out["CurrentShardCount"], out["TargetShardCount"]) == (2, 3)
    kinesis.get_waiter("stream_exists").wait(StreamName=name,
                                             WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    opened = open_shards(kinesis.list_shards(StreamName=name)["Shards"])
    assert len(opened) == 3
    assert opened[0]["HashKeyRange"]["EndingHashKey"] == str(2 ** 128 // 3 - 1)
    with pytest.raises(ClientError) as err:
        kinesis.update_shard_count(StreamName=name, TargetShardCount=7,
                                   ScalingType="UNIFORM_SCALING")
    assert error_code(err.value) == "LimitExceededException"

    kinesis.update_stream_mode(StreamARN=stream_arn(name),
                               StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kinesis.get_waiter("stream_exists").wait(StreamName=name,
                                             WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    with pytest.raises(ClientError) as err:
        kinesis.split_shard(StreamName=name, ShardToSplit=opened[0]["ShardId"],
                            NewStartingHashKey="12345")
    assert error_code(err.value) == "ValidationException"


def test_cli_resharding(endpoint):
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "2"})

    def aws(*args: str):
        cmd = [sys.executable, "-m", "awscli", "--endpoint-url", endpoint, "--region", REGION,
               "--output", "json", "kinesis", *args]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{args}: {proc.stderr}"
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    name = unique("clireshard")
    aws("create-stream", "--stream-name", name, "--shard-count", "2")
    aws("wait", "stream-exists", "--stream-name", name)
    aws("split-shard", "--stream-name", name, "--shard-to-split", "shardId-000000000001",
        "--new-starting-hash-key", str(2 ** 127 + 2 ** 126))
    aws("merge-shards", "--stream-name", name, "--shard-to-merge", "shardId-000000000000",
        "--adjacent-shard-to-merge", "shardId-000000000002")
    out = aws("update-shard-count", "--stream-name", name, "--target-shard-count", "4",
              "--scaling-type", "UNIFORM_SCALING")
    assert out["TargetShardCount"] == 4
    aws("wait", "stream-exists", "--stream-name", name)
    listed = aws("list-shards", "--stream-name", name, "--shard-filter", "Type=AT_LATEST")
    assert len(listed["Shards"]) == 4
    assert all("ParentShardId" in s for s in listed["Shards"])
