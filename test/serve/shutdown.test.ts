// SIGTERM while requests are in flight: `ercnn serve` (a real process) stops accepting, answers every request it
// accepted, and exits 0.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { tempDir } from "../data/helpers.ts";
import { binaryBody, bytesOf, makeRun, storeImages, type TestRun } from "./helpers.ts";

const t = tempDir("ercnn-serve-stop-");
let run: TestRun;
before(async () => {
  run = await makeRun(t.dir, { key: await generateKey({ blockSize: 4, seed: "serve-stop" }) });
});
after(t.cleanup);

test("SIGTERM with requests in flight: every accepted request is answered, then exit 0", async () => {
  const child = spawn(
    process.execPath,
    [
      "bin/ercnn.js",
      "serve",
      run.run,
      "--name",
      "m",
      "--port",
      "0",
      "--threads",
      "1",
      "--max-queue-delay",
      "1500000",
      "--max-batch",
      "64",
      "--no-ui",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const m = /"msg":"ready"/.test(out) && /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", () => reject(new Error(`serve exited early: ${err}${out}`)));
  });
  const { x } = storeImages(run.test, 0, 1);
  const { body, headerLength } = binaryBody(
    {
      inputs: [
        { name: "input", shape: [1, 3, 16, 16], datatype: "FP32", parameters: { binary_data_size: x.byteLength } },
      ],
    },
    bytesOf(x),
  );
  const send = () =>
    fetch(`${url}/v2/models/m/infer`, {
      method: "POST",
      body: new Uint8Array(body),
      headers: { "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": String(headerLength) },
    });
  const inflight = Array.from({ length: 12 }, () => send());
  // Wait until all 12 are queued (the 1.5 s batching delay holds them), then ask the server to stop.
  for (let i = 0; i < 100; i++) {
    const m = await (await fetch(`${url}/metrics`)).text();
    if (/nv_inference_pending_request_count\{model="m"\} 12/.test(m)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGTERM");
  const answers = await Promise.all(inflight);
  for (const a of answers) {
    assert.equal(a.status, 200);
    const r = (await a.json()) as { outputs: { data: number[] }[] };
    assert.equal(r.outputs[0].data.length, 4);
  }
  assert.equal(await exited, 0, err);
  assert.match(out, /shutting down: no new requests, finishing queued ones/);
  const after = await send().then(
    (r) => r.status,
    () => "refused",
  );
  assert.equal(after, "refused");
});
