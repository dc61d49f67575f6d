"""Framework-level behaviour over raw HTTP/1.1 (http.client and sockets): what AWS's front end
answers before any operation runs (reference §2.5), the body-size cap, and request ids."""

from __future__ import annotations

import http.client
import json
import re
import select
import socket

import pytest

from harness import unique

JSON = "application/x-amz-json-1.1"
CBOR = "application/x-amz-cbor-1.1"
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00")
MIB = 1 << 20


def hostport(endpoint: str) -> tuple[str, int]:
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def send(endpoint, body: bytes = b"{}", method: str = "POST", target: str | None = "ListStreams",
         content_type: str | None = JSON, auth: str | None = AUTH):
    conn = http.client.HTTPConnection(*hostport(endpoint), timeout=30)
    headers = {"X-Amz-Date": "20260101T000000Z"}
    expect_json = content_type == JSON
    if target is not None:
        headers["X-Amz-Target"] = target if "." in target else f"Kinesis_20131202.{target}"
    if content_type is not None:
        headers["Content-Type"] = content_type
    if auth is not None:
        headers["Authorization"] = auth
    try:
        conn.request(method, "/", body=body if method != "GET" else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        assert resp.getheader("x-amzn-RequestId"), f"no x-amzn-RequestId on {resp.status}"
        if expect_json and data:  # JSON requests get JSON replies, errors included
            assert resp.getheader("Content-Type") == JSON, resp.getheader("Content-Type")
        return resp.status, data
    finally:
        conn.close()


def error_type(data: bytes) -> str:
    assert data, "empty error body"
    return json.loads(data)["__type"].split("#")[-1]


def test_get_is_403(endpoint):
    status, data = send(endpoint, method="GET", target=None, content_type=None)
    assert status == 403
    assert b"Unable to determine service/operation name to be authorized" in data


@pytest.mark.parametrize("content_type", [None, "application/x-amz-json-1.0", "text/plain"])
def test_wrong_content_type_is_403(endpoint, content_type):
    status, _ = send(endpoint, content_type=content_type)
    assert status == 403


def test_legacy_application_json_envelope(endpoint):
    status, data = send(endpoint, content_type="application/json")
    assert status == 200
    assert json.loads(data)["Output"]["__type"].endswith("UnknownOperationException")


@pytest.mark.parametrize("target", [None, "Kinesis_20131202.FlyToTheMoon",
                                    "DynamoDB_20120810.ListTables", "Kinesis_20131202."])
def test_unknown_target(endpoint, target):
    status, data = send(endpoint, target=target or None)
    assert status == 400
    assert error_type(data) == "UnknownOperationException"


def test_missing_authorization(endpoint):
    status, data = send(endpoint, auth=None)
    assert status == 400
    assert error_type(data) == "MissingAuthenticationTokenException"
    assert json.loads(data)["message"] == "Missing Authentication Token"


def test_malformed_authorization(endpoint):
    status, data = send(endpoint, auth="AWS4-HMAC-SHA256 Signature=00")
    assert status == 400
    assert error_type(data) == "IncompleteSignatureException"


def test_query_and_header_auth_together(endpoint):
    conn = http.client.HTTPConnection(*hostport(endpoint), timeout=30)
    try:
        conn.request("POST", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256", body=b"{}", headers={
            "Content-Type": JSON, "X-Amz-Target": "Kinesis_20131202.ListStreams",
            "Authorization": AUTH, "X-Amz-Date": "20260101T000000Z"})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    assert resp.status == 400
    assert error_type(data) == "InvalidSignatureException", data


@pytest.mark.parametrize("body", [b"", b"{\"StreamName\": ", b"[]", b"nope", b"\xff\xfe",
                                  b"{\"StreamName\": 42}", b"{\"StreamName\": {\"a\": 1}}"])
def test_bad_bodies_are_serialization_errors(endpoint, body):
    status, data = send(endpoint, body=body, target="DescribeStream")
    assert status == 400
    assert error_type(data) == "SerializationException", data


def test_unknown_members_are_ignored(endpoint):
    status, data = send(endpoint, body=b'{"Limit": 1, "NoSuchMember": true}')
    assert status == 200 and "StreamNames" in json.loads(data)


def test_missing_required_member(endpoint):
    status, data = send(endpoint, body=b"{}", target="CreateStream")
    assert status == 400
    assert error_type(data) in ("ValidationException", "SerializationException")


def raw_request(endpoint, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(hostport(endpoint), timeout=10)
    head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    body = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def common_headers(endpoint, content_type) -> dict[str, str]:
    return {"Host": endpoint.removeprefix("http://"), "Content-Type": content_type,
            "X-Amz-Target": "Kinesis_20131202.PutRecords", "Authorization": AUTH,
            "X-Amz-Date": "20260101T000000Z"}


@pytest.mark.parametrize("content_type,size", [(JSON, 16 * MIB + 1), (CBOR, 12 * MIB),
                                               (JSON, 1 << 40)])
def test_declared_oversize_body_is_413_unread(endpoint, content_type, size):
    """Only the headers are sent: the server must answer from Content-Length alone."""
    headers = common_headers(endpoint, content_type) | {"Content-Length": str(size)}
    with raw_request(endpoint, headers) as sock:
        status, reply_headers, body = read_response(sock)  # socket timeout: 10 s
    assert status == 413
    assert reply_headers.get("x-amzn-requestid")
    assert body  # a clear message, in the request's codec


def test_chunked_oversize_body_is_413(endpoint):
    """No Content-Length: the server must stop once the bytes read pass the cap."""
    headers = common_headers(endpoint, JSON) | {"Transfer-Encoding": "chunked"}
    chunk = b"x" * (256 * 1024)
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with raw_request(endpoint, headers) as sock:
        sent = 0
        while sent < 64 * MIB:
            readable, _, _ = select.select([sock], [], [], 0.02)
            if readable:
                break
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        status, reply_headers, _ = read_response(sock)
    assert status == 413
    assert sent <= 32 * MIB, f"server read {sent} bytes before refusing"
    assert reply_headers.get("x-amzn-requestid")


def test_keep_alive_and_still_serving(endpoint):
    conn = http.client.HTTPConnection(*hostport(endpoint), timeout=30)
    try:
        for _ in range(3):  # several requests on one connection
            conn.request("POST", "/", body=b'{"Limit": 1}', headers={
                "Content-Type": JSON, "X-Amz-Target": "Kinesis_20131202.ListStreams",
                "Authorization": AUTH, "X-Amz-Date": "20260101T000000Z"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            assert resp.status == 200 and "HasMoreStreams" in body
            assert resp.getheader("Content-Type") == JSON
            assert resp.getheader("x-amzn-RequestId")
    finally:
        conn.close()


def test_request_ids_are_unique(endpoint):
    ids = set()
    for _ in range(5):
        conn = http.client.HTTPConnection(*hostport(endpoint), timeout=30)
        conn.request("POST", "/", body=b"{}", headers={"Content-Type": JSON})
        resp = conn.getresponse()
        resp.read()
        ids.add(resp.getheader("x-amzn-RequestId"))
        conn.close()
    assert len(ids) == 5


def test_json_timestamps_are_plain_decimals(endpoint):
    """Epoch seconds with a fraction, never exponent notation (Java v2 fails on 1.6E9)."""
    name = unique("plain-ts")
    assert send(endpoint, json.dumps({"StreamName": name, "ShardCount": 1}).encode(),
                target="CreateStream")[0] == 200
    status, data = send(endpoint, json.dumps({"StreamName": name}).encode(),
                        target="DescribeStreamSummary")
    assert status == 200
    match = re.search(rb'"StreamCreationTimestamp"\s*:\s*([^,}]+)', data)
    assert match and re.fullmatch(rb"\d{10}(\.\d{1,3})?", match.group(1).strip()), data
