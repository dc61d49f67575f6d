"""SigV4 verification (`--auth sigv4`) with boto3, the AWS CLI v1 and legacy boto 2: their
own signatures verify, a wrong secret or unknown key is refused with AWS's errors, and each
key acts in its own account."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

import boto3
from botocore.config import Config

from harness import REGION, SpateServer, error_code, unique

CREDENTIALS = """
[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
account_id = "111122223333"

[[credentials]]
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
account_id = "444455556666"
"""


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("auth") / "credentials.toml"
    path.write_text(CREDENTIALS)
    with SpateServer("--auth", "sigv4", "--credentials", str(path), name="sigv4") as srv:
        yield srv


def as_user(srv, key, secret, **kw):
    return boto3.client("kinesis", endpoint_url=srv.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}), **kw)


def test_boto3_signatures_verify_and_accounts_are_separate(signed_server):
    alice = as_user(signed_server, "AKIDALICE", "alice-secret")
    bob = as_user(signed_server, "AKIDBOB", "bob-secret", aws_session_token="a-session-token")
    name = unique("signed")
    alice.create_stream(StreamName=name, ShardCount=1)
    arn = alice.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    assert arn == f"arn:aws:kinesis:{REGION}:111122223333:stream/{name}"
    assert name not in bob.list_streams()["StreamNames"]
    alice.put_record(StreamName=name, PartitionKey="k", Data=b"\x00signed\xff")
    with pytest.raises(ClientError) as err:
        bob.describe_stream_summary(StreamARN=arn)
    assert error_code(err.value) == "AccessDeniedException"

    for key, secret, expected in [("AKIDALICE", "wrong", "InvalidSignatureException"),
                                  ("AKIDNOBODY", "x", "UnrecognizedClientException")]:
        with pytest.raises(ClientError) as err:
            as_user(signed_server, key, secret).list_streams()
        assert error_code(err.value) == expected
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_cli_signs_correctly(signed_server):
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "AKIDBOB", "AWS_SECRET_ACCESS_KEY": "bob-secret",
                "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
    cmd = [sys.executable, "-m", "awscli", "--endpoint-url", signed_server.endpoint, "--region",
           REGION, "--output", "json", "kinesis"]
    name = unique("clisigned")
    subprocess.run(cmd + ["create-stream", "--stream-name", name, "--shard-count", "1"],
                   env=env, check=True, capture_output=True, timeout=120)
    out = subprocess.run(cmd + ["list-streams"], env=env, check=True, capture_output=True,
                         text=True, timeout=120)
    assert name in json.loads(out.stdout)["StreamNames"]
    env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    bad = subprocess.run(cmd + ["list-streams"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0 and "InvalidSignatureException" in bad.stderr


def test_boto2_signs_with_its_nonsense_scope(signed_server):
    import boto.kinesis.layer1  # noqa: PLC0415 (conftest shims Python 3.11 first)
    from urllib.parse import urlparse  # noqa: PLC0415

    url = urlparse(signed_server.endpoint)
    conn = boto.kinesis.layer1.KinesisConnection(
        host=url.hostname, port=url.port, is_secure=False,
        aws_access_key_id="AKIDALICE", aws_secret_access_key="alice-secret")
    name = unique("boto2signed")
    conn.create_stream(name, 1)
    # boto 2 signs region "0", so the stream lands in the configured region.
    summary = conn.describe_stream(name)["StreamDescription"]
    assert summary["StreamARN"] == f"arn:aws:kinesis:{REGION}:111122223333:stream/{name}"
