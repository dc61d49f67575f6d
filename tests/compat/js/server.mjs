// Starting and stopping the server under test from node:test suites: spawn the binary on
// 127.0.0.1:0, read its `listening on` line (with a deadline), SIGTERM at the end.

import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const BIN = path.resolve(REPO, process.env.SPATE_BIN ?? "target/debug/spate");

export function startServer(args = [], name = "js") {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SPATE_")));
  const logDir = path.join(REPO, "tests", "compat", ".logs");
  mkdirSync(logDir, { recursive: true });
  const log = openSync(path.join(logDir, `${name}-${process.pid}.log`), "w");
  const child = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--in-memory", ...args],
    { env, stdio: ["ignore", "pipe", log] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error("no 'listening on' line in 20 s")); }, 20_000);
    child.once("error", (err) => { clearTimeout(timer); reject(err); });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited early: ${code}`)); });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({ child, endpoint: match[1] });
      }
    });
  });
}

export function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", (code) => { clearTimeout(timer); resolve(code); });
    child.kill("SIGTERM");
  });
}
