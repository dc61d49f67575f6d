"""Resource policies and identity policies with boto3: get/put/delete_resource_policy, a
refused policy as InvalidArgumentException, and denials as AccessDeniedException
ClientErrors (HTTP 400) for a credential's explicit Deny and for another account until the
stream's policy shares it."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import REGION, SpateServer, error_code, unique, wait_active

ALICE = "111122223333"
BOB = "444455556666"

CREDENTIALS = f"""
[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
account_id = "{ALICE}"

[[credentials]]
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
account_id = "{BOB}"

[[credentials]]
access_key_id = "AKIDWRITER"
secret_access_key = "writer-secret"
account_id = "{ALICE}"
user = "writer"
policies = ['''
{{"Version": "2012-10-17", "Statement": [
  {{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}},
  {{"Effect": "Deny", "Action": "kinesis:PutRecord", "Resource": "*"}}
]}}
''']
"""


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("policies") / "credentials.toml"
    path.write_text(CREDENTIALS)
    with SpateServer("--auth", "sigv4", "--credentials", str(path), name="policies") as srv:
        yield srv


def as_user(srv, key, secret):
    return boto3.client("kinesis", endpoint_url=srv.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


def share(arn: str, account: str, actions: list[str]) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                       "Action": [f"kinesis:{a}" for a in actions], "Resource": arn}],
    })


def test_policies_round_trip_through_boto3(signed_server):
    alice = as_user(signed_server, "AKIDALICE", "alice-secret")
    name = unique("policy")
    alice.create_stream(StreamName=name, ShardCount=1)
    wait_active(alice, name)
    arn = f"arn:aws:kinesis:{REGION}:{ALICE}:stream/{name}"
    assert alice.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    policy = share(arn, BOB, ["PutRecord"])
    alice.put_resource_policy(ResourceARN=arn, Policy=policy)
    assert alice.get_resource_policy(ResourceARN=arn)["Policy"] == policy

    conditional = json.loads(policy)
    conditional["Statement"][0]["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
    with pytest.raises(ClientError) as err:
        alice.put_resource_policy(ResourceARN=arn, Policy=json.dumps(conditional))
    assert error_code(err.value) == "InvalidArgumentException"
    assert "does not evaluate Condition" in err.value.response["Error"]["Message"]

    alice.delete_resource_policy(ResourceARN=arn)
    assert alice.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    with pytest.raises(ClientError) as err:
        alice.get_resource_policy(ResourceARN=f"{arn}-missing")
    assert error_code(err.value) == "ResourceNotFoundException"


def test_denials_are_access_denied_client_errors(signed_server):
    alice = as_user(signed_server, "AKIDALICE", "alice-secret")
    bob = as_user(signed_server, "AKIDBOB", "bob-secret")
    writer = as_user(signed_server, "AKIDWRITER", "writer-secret")
    name = unique("denied")
    alice.create_stream(StreamName=name, ShardCount=1)
    wait_active(alice, name)
    arn = f"arn:aws:kinesis:{REGION}:{ALICE}:stream/{name}"

    with pytest.raises(ClientError) as err:
        writer.put_record(StreamName=name, PartitionKey="k", Data=b"x")
    assert error_code(err.value) == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{ALICE}:user/writer is not authorized to perform: "
        f"kinesis:PutRecord on resource: {arn} with an explicit deny in an identity-based policy")
    writer.put_records(StreamName=name, Records=[{"PartitionKey": "k", "Data": b"x"}])

    with pytest.raises(ClientError) as err:
        bob.put_record(StreamARN=arn, PartitionKey="k", Data=b"x")
    assert error_code(err.value) == "AccessDeniedException"
    assert "because no resource-based policy allows" in err.value.response["Error"]["Message"]

    alice.put_resource_policy(ResourceARN=arn,
                              Policy=share(arn, BOB, ["PutRecord", "GetShardIterator",
                                                      "GetRecords"]))
    bob.put_record(StreamARN=arn, PartitionKey="k", Data=b"from bob")
    iterator = bob.get_shard_iterator(StreamARN=arn, ShardId="shardId-000000000000",
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = bob.get_records(ShardIterator=iterator)["Records"]
    assert [r["Data"] for r in records] == [b"x", b"from bob"]
