// @aws-sdk/client-kinesis (JS v3) against Spate, over HTTP/2.
//
// The v3 Kinesis client's default request handler is NodeHttp2Handler (from
// @smithy/node-http-handler): every call goes over HTTP/2, and with an http:// endpoint it opens
// with the h2c prior-knowledge preface. The suite asserts that the default handler is the h2 one
// and that every response really arrived over HTTP/2 (its headers carry the `:status` pseudo-header).
// It starts its own server: spawn the binary, read the `listening on` line, SIGTERM at the end.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  AddTagsToStreamCommand, CreateStreamCommand, DecreaseStreamRetentionPeriodCommand,
  DeleteStreamCommand, DescribeStreamCommand, DescribeStreamSummaryCommand,
  GetRecordsCommand, GetShardIteratorCommand, IncreaseStreamRetentionPeriodCommand,
  InvalidArgumentException, KinesisClient, ListShardsCommand, ListStreamsCommand,
  ListTagsForStreamCommand, PutRecordCommand, PutRecordsCommand, RemoveTagsFromStreamCommand,
  ResourceInUseException, ResourceNotFoundException, waitUntilStreamExists,
  waitUntilStreamNotExists,
} from "@aws-sdk/client-kinesis";
import { NodeHttp2Handler } from "@smithy/node-http-handler";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const BIN = path.resolve(REPO, process.env.SPATE_BIN ?? "target/debug/spate");

function startServer(args = []) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SPATE_")));
  const logDir = path.join(REPO, "tests", "compat", ".logs");
  mkdirSync(logDir, { recursive: true });
  const log = openSync(path.join(logDir, `js-${process.pid}.log`), "w");
  const child = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--in-memory", ...args],
    { env, stdio: ["ignore", "pipe", log] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error("no 'listening on' line in 20 s")); }, 20_000);
    child.once("error", (err) => { clearTimeout(timer); reject(err); });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited early: ${code}`)); });
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({ child, endpoint: match[1] });
      }
    });
  });
}

function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", (code) => { clearTimeout(timer); resolve(code); });
    child.kill("SIGTERM");
  });
}

const unique = (prefix) => `${prefix}-${Math.random().toString(16).slice(2, 12)}`;
const md5Key = (pk) => BigInt("0x" + createHash("md5").update(pk, "utf8").digest("hex"));

describe("JS v3 SDK over HTTP/2", () => {
  let server;
  let client;
  const responses = [];

  before(async () => {
    server = await startServer();
    client = new KinesisClient({
      endpoint: server.endpoint, region: "us-east-1", maxAttempts: 2,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    // Record every raw response, to see which protocol it came over.
    client.middlewareStack.add((next) => async (args) => {
      const out = await next(args);
      responses.push(out.response);
      return out;
    }, { step: "deserialize", priority: "low", name: "recordRawResponse" });
  });

  after(async () => {
    client?.destroy();
    if (server) assert.equal(await stopServer(server.child), 0, "clean exit on SIGTERM");
  });

  test("the default request handler is HTTP/2", async () => {
    assert.ok(client.config.requestHandler instanceof NodeHttp2Handler);
    assert.equal(client.config.requestHandler.metadata.handlerProtocol, "h2");
    const out = await client.send(new ListStreamsCommand({}));
    assert.ok(Array.isArray(out.StreamNames));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.ok(out.$metadata.requestId);
    const last = responses.at(-1);
    assert.equal(last.headers[":status"], 200, "response came over HTTP/2");
  });

  test("create, wait, describe, list, put, get, tags, retention, delete", async () => {
    const name = unique("js");
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    const waited = await waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 2 },
      { StreamName: name });
    assert.equal(waited.state, "SUCCESS");

    const desc = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    assert.equal(desc.StreamStatus, "ACTIVE");
    assert.equal(desc.StreamARN, `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`);
    assert.deepEqual(desc.Shards.map((s) => s.ShardId), ["shardId-000000000000", "shardId-000000000001"]);
    assert.ok(desc.StreamCreationTimestamp instanceof Date);
    assert.ok(Math.abs(Date.now() - desc.StreamCreationTimestamp.getTime()) < 60_000);
    const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamARN: desc.StreamARN })))
      .StreamDescriptionSummary;
    assert.equal(summary.OpenShardCount, 2);
    const shards = (await client.send(new ListShardsCommand({ StreamName: name, MaxResults: 1 })));
    assert.equal(shards.Shards.length, 1);
    assert.ok(shards.NextToken);

    let names = [];
    let token;
    do {
      const page = await client.send(new ListStreamsCommand({ Limit: 5, NextToken: token }));
      names = names.concat(page.StreamNames);
      token = page.HasMoreStreams ? page.NextToken : undefined;
    } while (token);
    assert.ok(names.includes(name));

    const shardOf = (pk) => {
      const key = md5Key(pk);
      return desc.Shards.find((s) => BigInt(s.HashKeyRange.StartingHashKey) <= key
        && key <= BigInt(s.HashKeyRange.EndingHashKey)).ShardId;
    };
    const start = new Date(Date.now() - 1000);
    const payload = Uint8Array.from([0, 255, 254, 128, 10, 13, 195, 40]);
    const put = await client.send(new PutRecordCommand({ StreamName: name, Data: payload, PartitionKey: "js-key" }));
    assert.equal(put.ShardId, shardOf("js-key"));
    assert.match(put.SequenceNumber, /^\d{56}$/);
    const entries = Array.from({ length: 20 }, (_, i) => ({
      Data: new TextEncoder().encode(`batch-${i}`), PartitionKey: `js-key`,
    }));
    const batch = await client.send(new PutRecordsCommand({ StreamName: name, Records: entries }));
    assert.equal(batch.FailedRecordCount ?? 0, 0);
    assert.equal(batch.Records.length, 20);
    assert.ok(batch.Records.every((r) => r.ShardId === put.ShardId));

    for (const [type, extra] of [["TRIM_HORIZON", {}], ["AT_TIMESTAMP", { Timestamp: start }],
      ["AT_SEQUENCE_NUMBER", { StartingSequenceNumber: put.SequenceNumber }]]) {
      const { ShardIterator } = await client.send(new GetShardIteratorCommand({
        StreamName: name, ShardId: put.ShardId, ShardIteratorType: type, ...extra,
      }));
      const got = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 100 }));
      assert.equal(got.Records.length, 21, type);
      assert.deepEqual(Buffer.from(got.Records[0].Data), Buffer.from(payload));
      assert.equal(new TextDecoder().decode(got.Records[20].Data), "batch-19");
      assert.equal(got.Records[0].SequenceNumber, put.SequenceNumber);
      assert.ok(got.Records[0].ApproximateArrivalTimestamp instanceof Date);
      assert.ok(Math.abs(Date.now() - got.Records[0].ApproximateArrivalTimestamp.getTime()) < 60_000);
      assert.equal(got.MillisBehindLatest, 0);
      assert.ok(got.NextShardIterator);
    }
    const { ShardIterator: after } = await client.send(new GetShardIteratorCommand({
      StreamName: name, ShardId: put.ShardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
      StartingSequenceNumber: batch.Records[19].SequenceNumber,
    }));
    const empty = await client.send(new GetRecordsCommand({ ShardIterator: after }));
    assert.deepEqual(empty.Records, []);
    await client.send(new PutRecordCommand({ StreamName: name, Data: Uint8Array.of(7), PartitionKey: "js-key" }));
    const later = await client.send(new GetRecordsCommand({ ShardIterator: empty.NextShardIterator }));
    assert.deepEqual(later.Records.map((r) => Array.from(r.Data)), [[7]]);

    await client.send(new AddTagsToStreamCommand({ StreamName: name, Tags: { b: "2", a: "1" } }));
    await client.send(new RemoveTagsFromStreamCommand({ StreamName: name, TagKeys: ["b"] }));
    const tags = await client.send(new ListTagsForStreamCommand({ StreamName: name }));
    assert.deepEqual(tags.Tags, [{ Key: "a", Value: "1" }]);
    assert.equal(tags.HasMoreTags, false);

    await client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 100 }));
    await client.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 50 }));
    const retention = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    assert.equal(retention.StreamDescriptionSummary.RetentionPeriodHours, 50);

    await client.send(new DeleteStreamCommand({ StreamName: name }));
    const gone = await waitUntilStreamNotExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 2 },
      { StreamName: name });
    assert.equal(gone.state, "SUCCESS");
  });

  test("errors map to the modeled exception classes", async () => {
    await assert.rejects(client.send(new DescribeStreamCommand({ StreamName: unique("missing") })),
      (err) => {
        assert.ok(err instanceof ResourceNotFoundException, err.name);
        assert.equal(err.name, "ResourceNotFoundException");
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.ok(err.$metadata.requestId);
        assert.ok(err.message.length > 0);
        return true;
      });
    const name = unique("jsdup");
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await assert.rejects(client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 })),
      (err) => err instanceof ResourceInUseException);
    await waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 2 }, { StreamName: name });
    await assert.rejects(client.send(new GetRecordsCommand({ ShardIterator: "forged" })),
      (err) => err instanceof InvalidArgumentException);
    await assert.rejects(client.send(new PutRecordCommand({
      StreamName: name, Data: Uint8Array.of(1), PartitionKey: "k", ExplicitHashKey: (2n ** 128n).toString(),
    })), (err) => err instanceof InvalidArgumentException);
  });

  test("large bodies both ways (HTTP/2 flow control)", async () => {
    const name = unique("jsbig");
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 2 }, { StreamName: name });
    const records = Array.from({ length: 500 }, (_, i) => ({
      Data: new Uint8Array(8192).fill(i % 256), PartitionKey: `p${i}`,
    }));
    const put = await client.send(new PutRecordsCommand({ StreamName: name, Records: records }));
    assert.equal(put.FailedRecordCount ?? 0, 0);
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({
      StreamName: name, ShardId: "shardId-000000000000", ShardIteratorType: "TRIM_HORIZON",
    }));
    const got = await client.send(new GetRecordsCommand({ ShardIterator }));
    assert.equal(got.Records.length, 500);
    got.Records.forEach((r, i) => {
      assert.equal(r.Data.length, 8192);
      assert.equal(r.Data[8191], i % 256);
    });
  });

  test("many concurrent streams on one HTTP/2 connection", async () => {
    const handler = new NodeHttp2Handler({ disableConcurrentStreams: false });
    const shared = new KinesisClient({
      endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1, requestHandler: handler,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    try {
      const name = unique("jsmux");
      await shared.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
      await waitUntilStreamExists({ client: shared, maxWaitTime: 30, minDelay: 1, maxDelay: 2 },
        { StreamName: name });
      const puts = await Promise.all(Array.from({ length: 50 }, (_, i) => shared.send(
        new PutRecordCommand({ StreamName: name, Data: Uint8Array.of(i), PartitionKey: `m${i}` }))));
      assert.equal(new Set(puts.map((p) => `${p.ShardId}/${p.SequenceNumber}`)).size, 50);
      const sessions = Object.values(handler.connectionManager.debug()).flatMap((p) => p.sessions);
      assert.equal(sessions.length, 1, JSON.stringify(sessions));
      assert.ok(sessions[0].totalRequests >= 50);
    } finally {
      shared.destroy();
    }
  });

  test("every response came over HTTP/2", () => {
    assert.ok(responses.length > 20);
    for (const response of responses) assert.ok(":status" in response.headers);
  });
});
