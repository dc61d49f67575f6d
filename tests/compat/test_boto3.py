"""boto3 against Spate: stream lifecycle, listing, tags, retention, limits, ARNs and errors.
The data plane (records and iterators) is in test_boto3_data.py."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from harness import (ACCOUNT, REGION, SpateServer, client, error_code, even_ranges, make_stream,
                     stream_arn, unique, wait_active)

FAST = {"Delay": 1, "MaxAttempts": 30}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_create_provisioned_and_describe(kinesis):
    name = unique("prov")
    resp = kinesis.create_stream(StreamName=name, ShardCount=3)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["RequestId"]
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig=FAST)

    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["StreamName"] == name
    assert desc["StreamARN"] == f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"
    assert desc["StreamStatus"] == "ACTIVE"
    assert desc["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert desc["RetentionPeriodHours"] == 24
    assert desc["HasMoreShards"] is False
    assert desc.get("EncryptionType", "NONE") == "NONE"
    assert abs((now() - desc["StreamCreationTimestamp"]).total_seconds()) < 60
    assert [s["ShardId"] for s in desc["Shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
    for shard, (lo, hi) in zip(desc["Shards"], even_ranges(3)):
        assert shard["HashKeyRange"] == {"StartingHashKey": str(lo), "EndingHashKey": str(hi)}
        assert shard["SequenceNumberRange"]["StartingSequenceNumber"].isdigit()
        assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]
        assert "ParentShardId" not in shard


def test_create_on_demand(kinesis):
    name = unique("ondemand")
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = wait_active(kinesis, name)
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] >= 1
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    assert len(shards) == summary["OpenShardCount"]
    # The open shards partition the whole hash key space, in order, without gaps.
    expected_start = 0
    for shard in sorted(shards, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"])):
        assert int(shard["HashKeyRange"]["StartingHashKey"]) == expected_start
        expected_start = int(shard["HashKeyRange"]["EndingHashKey"]) + 1
    assert expected_start == 2**128


def test_describe_stream_paginates_shards(kinesis):
    name = make_stream(kinesis, "pages", shards=5)
    pages = list(kinesis.get_paginator("describe_stream").paginate(
        StreamName=name, PaginationConfig={"PageSize": 2}))
    assert [len(p["StreamDescription"]["Shards"]) for p in pages] == [2, 2, 1]
    assert [p["StreamDescription"]["HasMoreShards"] for p in pages] == [True, True, False]
    ids = [s["ShardId"] for p in pages for s in p["StreamDescription"]["Shards"]]
    assert ids == [f"shardId-00000000000{i}" for i in range(5)]

    desc = kinesis.describe_stream(StreamName=name, Limit=2,
                                   ExclusiveStartShardId="shardId-000000000001")
    assert [s["ShardId"] for s in desc["StreamDescription"]["Shards"]] == [
        "shardId-000000000002", "shardId-000000000003"]
    assert desc["StreamDescription"]["HasMoreShards"] is True


def test_describe_stream_summary(kinesis):
    name = make_stream(kinesis, "summary", shards=2)
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamName"] == name
    assert s["StreamARN"] == stream_arn(name)
    assert s["StreamStatus"] == "ACTIVE"
    assert s["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert s["RetentionPeriodHours"] == 24
    assert s["OpenShardCount"] == 2
    assert s.get("ConsumerCount", 0) == 0
    assert s.get("EncryptionType", "NONE") == "NONE"
    assert isinstance(s["EnhancedMonitoring"], list)
    assert abs((now() - s["StreamCreationTimestamp"]).total_seconds()) < 60


def test_list_streams_paginator(kinesis):
    prefix = unique("list")
    mine = [f"{prefix}-{i}" for i in range(3)]
    for name in mine:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    pages = list(kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2}))
    names = [n for p in pages for n in p["StreamNames"]]
    assert set(mine) <= set(names)
    assert names == sorted(names) and len(names) == len(set(names))
    for page in pages[:-1]:
        assert page["HasMoreStreams"] is True and page["NextToken"]
        assert len(page["StreamNames"]) == 2
    assert pages[-1]["HasMoreStreams"] is False
    summaries = {s["StreamName"]: s for p in pages for s in p["StreamSummaries"]}
    assert set(summaries) == set(names)
    assert summaries[mine[0]]["StreamARN"] == stream_arn(mine[0])
    assert summaries[mine[0]]["StreamStatus"] in ("CREATING", "ACTIVE")
    assert summaries[mine[0]]["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}

    first = kinesis.list_streams(Limit=1)
    assert len(first["StreamNames"]) == 1 and first["HasMoreStreams"] is True
    second = kinesis.list_streams(Limit=1, NextToken=first["NextToken"])
    assert second["StreamNames"][0] > first["StreamNames"][0]
    legacy = kinesis.list_streams(Limit=1, ExclusiveStartStreamName=first["StreamNames"][0])
    assert legacy["StreamNames"] == second["StreamNames"]


def test_list_shards_pagination_and_filters(kinesis):
    name = make_stream(kinesis, "shards", shards=4)
    ids = [f"shardId-00000000000{i}" for i in range(4)]
    first = kinesis.list_shards(StreamName=name, MaxResults=3)
    assert [s["ShardId"] for s in first["Shards"]] == ids[:3]
    rest = kinesis.list_shards(NextToken=first["NextToken"])
    assert [s["ShardId"] for s in rest["Shards"]] == ids[3:]
    assert "NextToken" not in rest
    with pytest.raises(ClientError) as err:
        kinesis.list_shards(StreamName=name, NextToken=first["NextToken"])
    assert error_code(err.value) == "InvalidArgumentException"

    t = now()
    filters = [
        {"Type": "AT_LATEST"}, {"Type": "FROM_TRIM_HORIZON"}, {"Type": "AT_TRIM_HORIZON"},
        {"Type": "AT_TIMESTAMP", "Timestamp": t}, {"Type": "FROM_TIMESTAMP", "Timestamp": t},
    ]
    for shard_filter in filters:
        got = kinesis.list_shards(StreamName=name, ShardFilter=shard_filter)["Shards"]
        assert [s["ShardId"] for s in got] == ids, shard_filter
    after = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AFTER_SHARD_ID",
                                                             "ShardId": ids[1]})
    assert [s["ShardId"] for s in after["Shards"]] == ids[2:]
    legacy = kinesis.list_shards(StreamName=name, ExclusiveStartShardId=ids[2])
    assert [s["ShardId"] for s in legacy["Shards"]] == ids[3:]


def test_tags(kinesis):
    name = make_stream(kinesis, "tags", Tags={"team": "data"})
    kinesis.add_tags_to_stream(StreamName=name, Tags={"b": "2", "a": "1"})
    tags = kinesis.list_tags_for_stream(StreamName=name)
    assert tags["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"},
                            {"Key": "team", "Value": "data"}]
    assert tags["HasMoreTags"] is False
    page = kinesis.list_tags_for_stream(StreamName=name, Limit=1)
    assert page["Tags"] == [{"Key": "a", "Value": "1"}] and page["HasMoreTags"] is True
    page = kinesis.list_tags_for_stream(StreamName=name, ExclusiveStartTagKey="a")
    assert [t["Key"] for t in page["Tags"]] == ["b", "team"]
    kinesis.add_tags_to_stream(StreamName=name, Tags={"a": "one"})  # overwrite
    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["b", "no-such-key"])
    tags = kinesis.list_tags_for_stream(StreamName=name)["Tags"]
    assert tags == [{"Key": "a", "Value": "one"}, {"Key": "team", "Value": "data"}]

    arn = stream_arn(name)
    kinesis.tag_resource(ResourceARN=arn, Tags={"env": "test"})
    by_arn = kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in by_arn} == {"a": "one", "team": "data", "env": "test"}
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["a", "team"])
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "test"}]
    with pytest.raises(ClientError) as err:
        kinesis.list_tags_for_resource(ResourceARN=stream_arn(unique("ghost")))
    assert error_code(err.value) == "ResourceNotFoundException"


def test_retention(kinesis):
    name = make_stream(kinesis, "retention")

    def hours():
        return kinesis.describe_stream_summary(
            StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"]

    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert hours() == 48
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=36)
    assert hours() == 36
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
    assert hours() == 8760
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
    assert hours() == 24
    bad = [
        ("increase", 8761),  # above the 365-day maximum
        ("decrease", 23),  # below the 24-hour minimum
        ("increase", 12),  # an "increase" to less than the current value
    ]
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    bad.append(("decrease", 72))  # a "decrease" to more than the current value
    for op, value in bad:
        call = getattr(kinesis, f"{op}_stream_retention_period")
        with pytest.raises(ClientError) as err:
            call(StreamName=name, RetentionPeriodHours=value)
        assert error_code(err.value) == "InvalidArgumentException", (op, value)
    assert hours() == 48


def test_describe_limits(kinesis):
    make_stream(kinesis, "limits", shards=2)
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] == 20000
    assert limits["OpenShardCount"] >= 2
    assert limits["OnDemandStreamCount"] >= 0
    assert limits["OnDemandStreamCountLimit"] == 50


def test_delete_stream_and_waiter(kinesis):
    name = make_stream(kinesis, "delete")
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig=FAST)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream(StreamName=name)
    names = [n for p in kinesis.get_paginator("list_streams").paginate() for n in p["StreamNames"]]
    assert name not in names


def test_states_with_delays():
    """CREATING -> ACTIVE -> DELETING -> gone, seen through the waiters on a server with delays."""
    with SpateServer("--create-stream-ms", "400", "--delete-stream-ms", "400",
                     name="delays") as srv:
        k = client(srv.endpoint)
        name = unique("slow")
        k.create_stream(StreamName=name, ShardCount=1)
        assert k.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "CREATING"
        with pytest.raises(ClientError) as err:  # writes need ACTIVE
            k.put_record(StreamName=name, Data=b"x", PartitionKey="k")
        assert error_code(err.value) in ("ResourceNotFoundException", "ResourceInUseException")
        for change in (lambda: k.add_tags_to_stream(StreamName=name, Tags={"k": "v"}),
                       lambda: k.increase_stream_retention_period(StreamName=name,
                                                                  RetentionPeriodHours=48)):
            with pytest.raises(ClientError) as err:  # control-plane changes need ACTIVE
                change()
            assert error_code(err.value) == "ResourceInUseException"
        k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig=FAST)
        assert k.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "ACTIVE"
        k.delete_stream(StreamName=name)
        assert k.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "DELETING"
        with pytest.raises(k.exceptions.ResourceInUseException):  # the name is still taken
            k.create_stream(StreamName=name, ShardCount=1)
        k.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig=FAST)
        k.create_stream(StreamName=name, ShardCount=1)  # and free again once gone


def test_stream_arn_in_place_of_name(kinesis):
    name = make_stream(kinesis, "byarn", shards=2)
    arn = stream_arn(name)
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == name
    summary = kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert summary["StreamName"] == name
    assert len(kinesis.list_shards(StreamARN=arn)["Shards"]) == 2
    put = kinesis.put_record(StreamARN=arn, Data=b"by-arn", PartitionKey="k")
    it = kinesis.get_shard_iterator(StreamARN=arn, ShardId=put["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it, StreamARN=arn)["Records"]
    assert [r["Data"] for r in records] == [b"by-arn"]
    kinesis.add_tags_to_stream(StreamARN=arn, Tags={"k": "v"})
    assert kinesis.list_tags_for_stream(StreamARN=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    kinesis.increase_stream_retention_period(StreamARN=arn, RetentionPeriodHours=30)
    # Streams are keyed by (account, region, name): the same name elsewhere is another
    # stream, and another account's streams are out of reach without a resource policy.
    for other, expected in ((f"arn:aws:kinesis:{REGION}:111111111111:stream/{name}",
                             "AccessDeniedException"),
                            (f"arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/{name}",
                             "ResourceNotFoundException")):
        with pytest.raises(ClientError) as err:
            kinesis.describe_stream_summary(StreamARN=other)
        assert error_code(err.value) == expected, other
    kinesis.delete_stream(StreamARN=arn)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig=FAST)


def test_not_found_errors(kinesis):
    ghost = unique("ghost")
    calls = [
        lambda: kinesis.describe_stream(StreamName=ghost),
        lambda: kinesis.describe_stream_summary(StreamName=ghost),
        lambda: kinesis.put_record(StreamName=ghost, Data=b"x", PartitionKey="k"),
        lambda: kinesis.delete_stream(StreamName=ghost),
        lambda: kinesis.get_shard_iterator(StreamName=ghost, ShardId="shardId-000000000000",
                                           ShardIteratorType="LATEST"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as err:
            call()
        assert error_code(err.value) == "ResourceNotFoundException"
        meta = err.value.response["ResponseMetadata"]
        assert meta["HTTPStatusCode"] == 400 and meta["RequestId"]
        assert err.value.response["Error"]["Message"]
    name = make_stream(kinesis, "noshard")
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000007",
                                   ShardIteratorType="LATEST")


def test_create_twice_is_resource_in_use(kinesis):
    name = make_stream(kinesis, "twice")
    with pytest.raises(kinesis.exceptions.ResourceInUseException) as err:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_validation_errors(kinesis, raw_kinesis):
    name = make_stream(kinesis, "valid")
    calls = {
        "bad name": lambda: kinesis.create_stream(StreamName="bad name!", ShardCount=1),
        "name too long": lambda: kinesis.create_stream(StreamName="n" * 129, ShardCount=1),
        "ShardCount 0": lambda: raw_kinesis.create_stream(StreamName=unique("z"), ShardCount=0),
        "DescribeStream Limit 0": lambda: raw_kinesis.describe_stream(StreamName=name, Limit=0),
        "ListStreams Limit 0": lambda: raw_kinesis.list_streams(Limit=0),
        "bad iterator type": lambda: raw_kinesis.get_shard_iterator(
            StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="SOMEWHERE"),
        "StreamARN pattern": lambda: kinesis.describe_stream_summary(
            StreamARN=f"arn:aws:kinesis:{REGION}:123:stream/{name}"),
        "PartitionKey of 257": lambda: kinesis.put_record(StreamName=name, Data=b"x",
                                                          PartitionKey="k" * 257),
        "ExplicitHashKey pattern": lambda: kinesis.put_record(
            StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey="0123"),
        "PutRecords of 0": lambda: raw_kinesis.put_records(StreamName=name, Records=[]),
        "PutRecords of 501": lambda: kinesis.put_records(
            StreamName=name, Records=[{"Data": b"x", "PartitionKey": "k"}] * 501),
        "Tags value of 257": lambda: kinesis.add_tags_to_stream(StreamName=name,
                                                                Tags={"k": "v" * 257}),
    }
    for what, call in calls.items():
        with pytest.raises(ClientError) as err:
            call()
        assert error_code(err.value) == "ValidationException", what
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for limit in (0, 10001):
        with pytest.raises(ClientError) as err:
            raw_kinesis.get_records(ShardIterator=it, Limit=limit)
        assert error_code(err.value) == "ValidationException", limit
    # A record over 1 MiB (data + partition key) is refused; exactly 1 MiB is fine.
    kinesis.put_record(StreamName=name, Data=b"x" * (1024 * 1024 - 1), PartitionKey="k")
    with pytest.raises(ClientError) as err:
        kinesis.put_record(StreamName=name, Data=b"x" * (1024 * 1024), PartitionKey="k")
    assert error_code(err.value) in ("ValidationException", "InvalidArgumentException")
    # The server keeps serving after all that.
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


@pytest.mark.parametrize("call", [
    lambda k, arn: k.update_stream_warm_throughput(StreamARN=arn, WarmThroughputMiBps=10),
], ids=["UpdateStreamWarmThroughput"])
def test_unsupported_operation(kinesis, call):
    name = make_stream(kinesis, "unsupported")
    with pytest.raises(ClientError) as err:
        call(kinesis, stream_arn(name))
    assert error_code(err.value) == "UnknownOperationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "not supported" in err.value.response["Error"]["Message"].lower()
    # Nothing happened to the stream.
    assert kinesis.describe_stream_summary(
        StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 1
