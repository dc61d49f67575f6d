"""Start and stop a Spate server binary for black-box tests, plus small shared helpers.

The server is started as `spate serve --listen 127.0.0.1:0 ...`; the port is learned from the
`listening on http://ADDR` line it prints on stdout (read with a deadline, never a fixed port or a
sleep). It is stopped by its PID: SIGTERM, then SIGKILL after a deadline.
"""

from __future__ import annotations

import hashlib
import os
import re
import selectors
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LOG_DIR = HERE / ".logs"
REGION = "us-east-1"
ACCOUNT = "000000000000"
LISTENING = re.compile(rb"listening on (http://\S+)")
MAX_HASH = 2**128 - 1


def spate_bin() -> Path:
    raw = os.environ.get("SPATE_BIN", "target/debug/spate")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO / path
    return path


def server_env() -> dict:
    """The environment for the server: ours minus every SPATE_* variable, since the server reads
    SPATE_<SETTING> as configuration (and SPATE_BIN, which names the binary, is no setting)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SPATE_")}


class SpateServer:
    """One server process. Use as a context manager or call start()/stop()."""

    def __init__(self, *args: str, data_dir: str | os.PathLike | None = None, name: str = "spate"):
        self.args = list(args)
        self.data_dir = data_dir
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.endpoint: str | None = None
        self.port: int | None = None
        self.log_path: Path | None = None
        self._stdout_tail: list[bytes] = []

    def command(self) -> list[str]:
        cmd = [str(spate_bin()), "serve", "--listen", "127.0.0.1:0"]
        if self.data_dir is None:
            cmd.append("--in-memory")
        else:
            cmd += ["--data-dir", str(self.data_dir)]
        return cmd + self.args

    def start(self, timeout: float = 20.0) -> "SpateServer":
        binary = spate_bin()
        if not binary.exists():
            raise RuntimeError(f"server binary {binary} not found (build it: cargo build -p spate)")
        LOG_DIR.mkdir(exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}-{uuid.uuid4().hex[:8]}.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            env=server_env(), bufsize=0,
        )
        log.close()
        try:
            self.endpoint = self._read_endpoint(timeout)
        except BaseException:
            self.kill()
            raise
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _read_endpoint(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{self.name}: no 'listening on' line within {timeout}s; "
                                       f"stdout so far {buf!r}; log {self.log_text()[-2000:]}")
                if not sel.select(left):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    self.proc.wait(5)
                    raise RuntimeError(f"{self.name}: exited ({self.proc.returncode}) before "
                                       f"listening; stdout {buf!r}; log {self.log_text()[-2000:]}")
                buf += chunk
                match = LISTENING.search(buf)
                if match and b"\n" in buf[match.end():]:
                    return match.group(1).decode()

    def _drain(self) -> None:
        # Keep reading stdout so that the server never blocks on a full pipe.
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
            except OSError:
                return
            if not chunk:
                return
            self._stdout_tail = (self._stdout_tail + [chunk])[-20:]

    def log_text(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (kill -9) now: no flush, no cleanup."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> "SpateServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def client(endpoint: str, *, validate: bool = True, attempts: int = 2, **kw):
    """A boto3 Kinesis client for `endpoint` with test credentials."""
    config = Config(
        region_name=REGION, parameter_validation=validate, connect_timeout=5, read_timeout=30,
        retries={"max_attempts": attempts, "mode": "standard"}, **kw,
    )
    return boto3.client(
        "kinesis", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=config,
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stream_arn(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def md5_hash_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def even_ranges(n: int) -> list[tuple[int, int]]:
    """AWS's split of the hash key space into n shards at creation (reference §5.3)."""
    step = (MAX_HASH + 1) // n
    return [(i * step, MAX_HASH if i == n - 1 else (i + 1) * step - 1) for i in range(n)]


def shard_for(shards: list[dict], hash_key: int) -> str:
    for shard in shards:
        rng = shard["HashKeyRange"]
        if int(rng["StartingHashKey"]) <= hash_key <= int(rng["EndingHashKey"]):
            return shard["ShardId"]
    raise AssertionError(f"no shard covers {hash_key}")


def wait_active(kinesis, name: str, timeout: float = 15.0) -> dict:
    """Poll DescribeStreamSummary every 50 ms until the stream is ACTIVE."""
    deadline = time.monotonic() + timeout
    while True:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return summary
        if time.monotonic() > deadline:
            raise AssertionError(f"stream {name} still {summary['StreamStatus']} after {timeout}s")
        time.sleep(0.05)


def make_stream(kinesis, prefix: str = "s", shards: int = 1, **kw) -> str:
    name = unique(prefix)
    kinesis.create_stream(StreamName=name, ShardCount=shards, **kw)
    wait_active(kinesis, name)
    return name


def read_shard(kinesis, name: str, shard_id: str, iterator_type: str = "TRIM_HORIZON",
               **kw) -> list[dict]:
    """Every record of a shard from the given position until a read comes back empty."""
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id,
                                    ShardIteratorType=iterator_type, **kw)["ShardIterator"]
    out: list[dict] = []
    for _ in range(10_000):
        resp = kinesis.get_records(ShardIterator=it)
        out += resp["Records"]
        it = resp.get("NextShardIterator")
        if not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0:
            return out
        if it is None:
            return out
    raise AssertionError("shard did not drain")


def error_code(exc) -> str:
    return exc.response["Error"]["Code"]
