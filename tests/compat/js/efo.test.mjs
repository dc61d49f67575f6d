// Enhanced fan-out with @aws-sdk/client-kinesis (JS v3), whose SubscribeToShardCommand reads
// the event stream over HTTP/2 (h2c prior knowledge on an http:// endpoint, asserted): records
// written after subscribing arrive, continuation numbers resume exactly, and a split shard
// ends with ChildShards.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateStreamCommand, DescribeStreamConsumerCommand, KinesisClient, ListStreamConsumersCommand,
  PutRecordCommand, RegisterStreamConsumerCommand, ResourceInUseException, SplitShardCommand,
  SubscribeToShardCommand, waitUntilStreamExists,
} from "@aws-sdk/client-kinesis";
import { startServer, stopServer } from "./server.mjs";

const SHARD0 = "shardId-000000000000";
const WAIT_MS = 15_000;
const unique = (prefix) => `${prefix}-${Math.random().toString(16).slice(2, 12)}`;

// One subscription: its events read one at a time, each with a deadline.
class Subscription {
  static async open(client, consumerARN, shardId, position) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const abort = new AbortController();
      try {
        const out = await client.send(new SubscribeToShardCommand({
          ConsumerARN: consumerARN, ShardId: shardId, StartingPosition: position,
        }), { abortSignal: abort.signal });
        return new Subscription(out, abort);
      } catch (err) {
        // The previous subscription may not have been noticed as closed yet.
        if (!(err instanceof ResourceInUseException) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  constructor(out, abort) {
    this.iterator = out.EventStream[Symbol.asyncIterator]();
    this.abort = abort;
  }

  async next(ms = WAIT_MS) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
    });
    try {
      const { value, done } = await Promise.race([this.iterator.next(), timeout]);
      return done ? null : value.SubscribeToShardEvent;
    } finally {
      clearTimeout(timer);
    }
  }

  async records(count) {
    const got = [];
    let continuation;
    const deadline = Date.now() + 30_000;
    while (got.length < count) {
      const event = await this.next(Math.max(100, deadline - Date.now()));
      assert.ok(event, "the subscription ended early");
      continuation = event.ContinuationSequenceNumber;
      assert.ok(continuation && continuation !== "0");
      got.push(...event.Records);
    }
    return { records: got, continuation };
  }

  close() {
    this.abort.abort();
  }
}

const text = (record) => Buffer.from(record.Data).toString("utf8");

describe("JS v3 SubscribeToShard over HTTP/2", () => {
  let server;
  let client;
  const responses = [];

  before(async () => {
    server = await startServer([], "js-efo");
    client = new KinesisClient({
      endpoint: server.endpoint, region: "us-east-1", maxAttempts: 2,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
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

  async function streamWithConsumer() {
    const name = unique("js-efo");
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 2 }, { StreamName: name });
    const arn = `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
    const { Consumer } = await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: "js" }));
    const described = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }));
    assert.equal(described.ConsumerDescription.ConsumerStatus, "ACTIVE");
    const listed = await client.send(new ListStreamConsumersCommand({ StreamARN: arn }));
    assert.deepEqual(listed.Consumers.map((c) => c.ConsumerARN), [Consumer.ConsumerARN]);
    return { name, consumer: Consumer.ConsumerARN };
  }

  const put = async (name, data, extra = {}) => (await client.send(new PutRecordCommand({
    StreamName: name, PartitionKey: "p", Data: Buffer.from(data), ...extra,
  }))).SequenceNumber;

  test("records written after subscribing arrive, and continuations resume", async () => {
    const { name, consumer } = await streamWithConsumer();
    const sub = await Subscription.open(client, consumer, SHARD0, { Type: "LATEST" });
    assert.equal(responses.at(-1).headers[":status"], 200, "the event stream came over HTTP/2");
    const first = await sub.next();
    assert.deepEqual(first.Records, []);
    const seqs = [await put(name, "a"), await put(name, "b")];
    const { records, continuation } = await sub.records(2);
    assert.deepEqual(records.map(text), ["a", "b"]);
    assert.equal(continuation, seqs[1]);
    sub.close();

    await put(name, "c");
    const resumed = await Subscription.open(client, consumer, SHARD0,
      { Type: "AFTER_SEQUENCE_NUMBER", SequenceNumber: continuation });
    assert.deepEqual((await resumed.records(1)).records.map(text), ["c"]);
    resumed.close();
  });

  test("a split shard ends with ChildShards", async () => {
    const { name, consumer } = await streamWithConsumer();
    const sub = await Subscription.open(client, consumer, SHARD0, { Type: "TRIM_HORIZON" });
    await put(name, "parent");
    assert.deepEqual((await sub.records(1)).records.map(text), ["parent"]);
    await client.send(new SplitShardCommand({
      StreamName: name, ShardToSplit: SHARD0, NewStartingHashKey: (2n ** 127n).toString(),
    }));
    const deadline = Date.now() + 30_000;
    let event;
    do {
      event = await sub.next(Math.max(100, deadline - Date.now()));
      assert.ok(event, "ended without ChildShards");
    } while (!event.ChildShards?.length);
    assert.equal(event.ContinuationSequenceNumber, undefined);
    assert.deepEqual(event.ChildShards.map((c) => [c.ShardId, c.ParentShards]).sort(), [
      ["shardId-000000000001", [SHARD0]], ["shardId-000000000002", [SHARD0]],
    ]);
    assert.equal(await sub.next(), null, "the stream ends after the children");
  });
});
