"""boto3 against encryption at rest: Start/StopStreamEncryption with the built-in
alias/aws/kinesis key and a key-file key, EncryptionType on puts and on each record, and the
KMS errors, on a server of its own (it needs a key file and a data directory)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from harness import SpateServer, client, error_code, make_stream, read_shard, wait_active

KEY_ID = "4a1c2e3f-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
KEY_FILE = f"""
[[keys]]
id = "{KEY_ID}"
aliases = ["alias/compat"]
material = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

[[keys]]
id = "00000000-0000-4000-8000-000000000002"
aliases = ["alias/off"]
material = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
state = "Disabled"
"""
SHARD = "shardId-000000000000"


@pytest.fixture(scope="module")
def kms_kinesis(tmp_path_factory):
    base = tmp_path_factory.mktemp("kms")
    keys = base / "keys.toml"
    keys.write_text(KEY_FILE)
    srv = SpateServer("--kms-key-file", str(keys), "--update-stream-ms", "200",
                      data_dir=base / "data", name="kms").start()
    try:
        yield client(srv.endpoint)
    finally:
        assert srv.stop() == 0, srv.log_text()


@pytest.mark.parametrize("key", ["alias/aws/kinesis", "alias/compat", KEY_ID,
                                 f"arn:aws:kms:us-east-1:000000000000:key/{KEY_ID}",
                                 "arn:aws:kms:us-east-1:000000000000:alias/compat"])
def test_start_and_stop_encryption(kms_kinesis, key):
    k = kms_kinesis
    name = make_stream(k, "enc")
    k.put_record(StreamName=name, Data=b"before", PartitionKey="p")
    k.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    summary = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "UPDATING"
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", key)
    wait_active(k, name)
    desc = k.describe_stream(StreamName=name)["StreamDescription"]
    assert (desc["EncryptionType"], desc["KeyId"]) == ("KMS", key)

    assert k.put_record(StreamName=name, Data=b"sealed-1", PartitionKey="p")["EncryptionType"] == "KMS"
    resp = k.put_records(StreamName=name, Records=[{"Data": b"sealed-2", "PartitionKey": "q"}])
    assert resp["EncryptionType"] == "KMS" and resp.get("FailedRecordCount", 0) == 0

    k.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    wait_active(k, name)
    summary = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["EncryptionType"] == "NONE" and "KeyId" not in summary
    assert k.put_record(StreamName=name, Data=b"after", PartitionKey="p")["EncryptionType"] == "NONE"

    records = read_shard(k, name, SHARD)
    assert [(r["Data"], r["EncryptionType"]) for r in records] == [
        (b"before", "NONE"), (b"sealed-1", "KMS"), (b"sealed-2", "KMS"), (b"after", "NONE")]
    assert [r["PartitionKey"] for r in records] == ["p", "p", "q", "p"]


@pytest.mark.parametrize("key,expected", [
    ("alias/missing", "KMSNotFoundException"),
    ("00000000-0000-4000-8000-0000000000ff", "KMSNotFoundException"),
    ("alias/off", "KMSDisabledException"),
])
def test_unusable_keys(kms_kinesis, key, expected):
    name = make_stream(kms_kinesis, "enc-bad")
    with pytest.raises(ClientError) as err:
        kms_kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    assert error_code(err.value) == expected
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    summary = kms_kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["EncryptionType"] == "NONE"


def test_stop_needs_the_streams_key(kms_kinesis):
    name = make_stream(kms_kinesis, "enc-stop")
    with pytest.raises(ClientError) as err:
        kms_kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS",
                                           KeyId="alias/aws/kinesis")
    assert error_code(err.value) == "InvalidArgumentException"
