// `ercnn serve` refuses at start-up, naming the flag and the reason, what would serve wrongly or not at all: an input
// size of 0 (every request a libtorch 500) or not a multiple of the key's block size (answered, wrongly), an
// --input-size that contradicts the training store, an image larger than the body limit, timeouts Node cannot hold
// or that contradict each other, a JSON limit above the body limit. Nothing listens in these cases.
import assert from "node:assert/strict";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { serveCommand } from "../../src/cli/commands/serve.ts";
import { tempDir } from "../data/helpers.ts";
import { makeRun, type TestRun } from "./helpers.ts";

const t = tempDir("ercnn-serve-limits-");
let run: TestRun;
let orphan: string; // a run whose training store is gone: only --input-size gives the input size
before(async () => {
  run = await makeRun(t.dir, { key: await generateKey({ blockSize: 4, seed: "serve-limits" }) });
  orphan = join(t.dir, "orphan");
  cpSync(run.run, orphan, { recursive: true });
  writeFileSync(join(orphan, "config.json"), JSON.stringify({ train: join(t.dir, "gone") }));
});
after(t.cleanup);

const serve = (args: string[]) =>
  serveCommand()
    .exitOverride()
    .parseAsync([...args, "--port", "0", "--no-ui", "--log-level", "silent"], { from: "user" });

test("input sizes: 0, not a multiple of k, contradicting the store, larger than the body limit", async () => {
  await assert.rejects(serve([orphan, "--input-size", "0x0"]), /height 0 must be at least 1 \(--input-size\)/);
  await assert.rejects(
    serve([orphan, "--input-size", "33x33"]),
    /height 33 is not a multiple of the key's block size 4 .*--input-size/,
  );
  await assert.rejects(
    serve([orphan, "--input-size", "16x18"]),
    /width 18 is not a multiple of the key's block size 4/,
  );
  await assert.rejects(
    serve([run.run, "--input-size", "8x8"]),
    /--input-size 8x8, but the training store's images are 16x16/,
  );
  await assert.rejects(
    serve([orphan, "--input-size", "2048x2048", "--body-limit", "16"]),
    /one FP32 image is 48\.0 MiB, more than --body-limit 16\.0 MiB/,
  );
  await assert.rejects(serve([orphan, "--input-size", "8192x8192"]), /height 8192 is larger than 4096/);
});

test("timeouts and limits that contradict each other or overflow Node's timers", async () => {
  await assert.rejects(
    serve([run.run, "--headers-timeout", "5000", "--request-timeout", "1000"]),
    /--headers-timeout 5000 ms is longer than --request-timeout 1000 ms/,
  );
  await assert.rejects(
    serve([run.run, "--json-limit", "70000", "--body-limit", "64"]),
    /--json-limit 68\.4 MiB is larger than --body-limit 64\.0 MiB/,
  );
  await assert.rejects(serve([run.run, "--max-queue-delay", "9999999999999"]), /--max-queue-delay \(µs\) .* must be/);
  await assert.rejects(serve([run.run, "--timeout", "9999999999"]), /--timeout 9999999999 ms: must be between/);
  await assert.rejects(serve([run.run, "--shutdown-timeout", "9999999"]), /--shutdown-timeout 9999999 s: at most/);
});
