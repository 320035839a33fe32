// ercnn serve --device: an explicit cpu serves evaluate's logits; a malformed name is refused by the strict parser;
// cuda on a CPU-only libtorch fails before any model is read, with `ercnn train`'s message; where CUDA exists, the
// models on cuda:0 give the CPU logits (skipped visibly elsewhere).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { cuda } from "../../src/torch/index.ts";
import { tempDir } from "../data/helpers.ts";
import { makeRun, maxAbsDiff, referenceLogits, startServer, storeImages, type TestRun } from "./helpers.ts";

const hasCuda = cuda.isAvailable();
const t = tempDir("ercnn-serve-device-");
let run: TestRun;
let reference: Float32Array[];
before(async () => {
  run = await makeRun(t.dir, { key: await generateKey({ blockSize: 4, seed: "serve-device" }), nTest: 6 });
  reference = await referenceLogits(run.run, run.test);
});
after(t.cleanup);

async function servedLogits(device: "cpu" | "cuda:0"): Promise<number[]> {
  const server = await startServer([{ dir: run.run, name: "m" }], { device });
  try {
    const { x, n } = storeImages(run.test, 0, 6);
    const res = await fetch(`${server.url}/v2/models/m/infer`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        inputs: [{ name: "input", shape: [n, 3, 16, 16], datatype: "FP32", data: Array.from(x) }],
      }),
    });
    assert.equal(res.status, 200);
    return (await res.json()).outputs[0].data;
  } finally {
    await server.close();
  }
}

const serve = (...args: string[]) =>
  spawnSync(process.execPath, ["bin/ercnn.js", "serve", run.run, "--port", "0", "--no-ui", ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });

describe("ercnn serve --device", () => {
  test("--device cpu (explicit): the served logits are evaluate's", async () => {
    const logits = await servedLogits("cpu");
    for (let i = 0; i < 6; i++) assert.ok(maxAbsDiff(logits.slice(i * 4, i * 4 + 4), reference[i]) <= 1e-5, `row ${i}`);
  });

  test("a malformed device is refused by the option parser, naming the option", () => {
    const r = serve("--device", "gpu0");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /option '--device <name>' argument 'gpu0' is invalid\. expected cpu, cuda or cuda:N/);
  });

  test("--device cuda on a CPU-only libtorch: exit 1 with train's message, before loading models", {
    skip: hasCuda ? "CUDA is available here" : false,
  }, () => {
    const r = serve("--device", "cuda");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ercnn: --device cuda: CUDA is not available: .*without CUDA.*--device cpu/);
    assert.doesNotMatch(r.stdout, /serving model/);
  });

  test("--device cuda:0: the models on the GPU give the CPU logits", {
    skip: hasCuda ? false : "no CUDA in the linked libtorch (skipped: this libtorch is CPU-only)",
  }, async () => {
    const logits = await servedLogits("cuda:0");
    for (let i = 0; i < 6; i++) assert.ok(maxAbsDiff(logits.slice(i * 4, i * 4 + 4), reference[i]) <= 1e-4, `row ${i}`);
  });
});
