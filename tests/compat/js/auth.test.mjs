// SigV4 verification (`--auth sigv4`) with the JS v3 SDK over HTTP/2, which signs the
// `:authority` pseudo-header: its signatures verify, a wrong secret is refused.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, ListStreamsCommand } from "@aws-sdk/client-kinesis";
import { startServer, stopServer } from "./server.mjs";

const CREDENTIALS = `
[[credentials]]
access_key_id = "AKIDJS"
secret_access_key = "js-secret"
account_id = "777788889999"
`;

const clientFor = (endpoint, secretAccessKey) => new KinesisClient({
  endpoint, region: "eu-west-2", maxAttempts: 1,
  credentials: { accessKeyId: "AKIDJS", secretAccessKey },
});

describe("JS v3 SDK with SigV4 verification", () => {
  let server;
  let dir;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "spate-auth-"));
    const file = path.join(dir, "credentials.toml");
    writeFileSync(file, CREDENTIALS);
    server = await startServer(["--auth", "sigv4", "--credentials", file], "js-auth");
  });

  after(async () => {
    if (server) await stopServer(server.child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("signed requests act in the key's account and the signed region", async () => {
    const client = clientFor(server.endpoint, "js-secret");
    await client.send(new CreateStreamCommand({ StreamName: "js-signed", ShardCount: 1 }));
    const out = await client.send(new DescribeStreamSummaryCommand({ StreamName: "js-signed" }));
    assert.equal(out.StreamDescriptionSummary.StreamARN, "arn:aws:kinesis:eu-west-2:777788889999:stream/js-signed");
    client.destroy();
  });

  test("a wrong secret is refused", async () => {
    const client = clientFor(server.endpoint, "not-the-secret");
    await assert.rejects(client.send(new ListStreamsCommand({})), (err) => err.name === "InvalidSignatureException");
    client.destroy();
  });
});
