"""Shared fixtures: one Spate server for the whole session, and boto3 clients pointing at it."""

from __future__ import annotations

import collections
import collections.abc
import os

import pytest

# --- legacy boto 2 on Python 3.11 ------------------------------------------------------------
# boto 2.49.0 (the last release) imports and works on Python 3.11 for boto.kinesis: checked, no
# shim needed there. Other boto 2 modules (boto.mws.connection) still use `collections.Mapping`
# and `collections.Iterable`, aliases Python 3.10 removed; restore them before boto is imported
# so that nothing boto pulls in can trip on them. It only adds aliases of the standard ABCs.
# (Python 3.12 also drops the `imp` module that boto.plugin imports; this suite targets 3.11.)
for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable",
              "Callable", "Set", "MutableSet"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

# Credentials and region for every SDK in this process; no profile or metadata lookups.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "BOTO_CONFIG": os.devnull,
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
})
os.environ.pop("AWS_SESSION_TOKEN", None)
os.environ.pop("AWS_PROFILE", None)

from harness import SpateServer, client  # noqa: E402


@pytest.fixture(scope="session")
def server():
    srv = SpateServer(name="session").start()
    yield srv
    code = srv.stop()
    # A clean SIGTERM shutdown exits 0; anything else is worth failing on.
    assert code == 0, f"server exited with {code} on SIGTERM; log {srv.log_path}"


@pytest.fixture(scope="session")
def endpoint(server) -> str:
    return server.endpoint


@pytest.fixture(scope="session")
def kinesis(endpoint):
    return client(endpoint)


@pytest.fixture(scope="session")
def raw_kinesis(endpoint):
    """A client with botocore's client-side parameter validation off, so that out-of-range
    values reach the server (which must reject them itself)."""
    return client(endpoint, validate=False, attempts=1)
