// The demo's outsourcing loop: a run trained here is served in-process (ercnn serve's app, loopback, free port) and
// its encrypted test store classified through the classify client; the accuracy equals the trainer's evaluation of
// the same checkpoint, the server is gone afterwards, a store of another key is refused before anything is sent,
// and a disagreement is an error naming both counts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { checkAgreement, classifyThroughService } from "../../src/cli/demo-service.ts";
import { train } from "../../src/train/index.ts";
import { tempDir } from "../data/helpers.ts";
import { writeSyntheticStore } from "../train/synthetic.ts";

const t = tempDir("ercnn-demo-service-");
after(t.cleanup);
const run = join(t.dir, "run");
const testStore = join(t.dir, "test");
let final: { testAcc: number; testImages: number };

before(async () => {
  const key = await generateKey({ blockSize: 4, seed: "demo-service" });
  const other = await generateKey({ blockSize: 4, seed: "demo-service-other" });
  await writeSyntheticStore(join(t.dir, "train"), { n: 160, classes: 4, size: 16, key, seed: 1 });
  await writeSyntheticStore(testStore, { n: 70, classes: 4, size: 16, key, seed: 2 });
  await writeSyntheticStore(join(t.dir, "other-key"), { n: 8, classes: 4, size: 16, key: other, seed: 3 });
  final = (await train(
    {
      train: join(t.dir, "train"),
      test: testStore,
      out: run,
      backbone: "resnet20",
      optimizer: "adam",
      batchSize: 16,
      epochs: 2,
      valFraction: 0.25,
      normalize: "store",
      workers: 1,
      threads: 1,
      decryptSamples: 2,
    },
    { quiet: true, log: () => {} },
  )) as typeof final;
});

test("the accuracy through the service is the trainer's test accuracy; the server is stopped after", async () => {
  // 70 images in requests of 16: the last request is a partial batch.
  const s = await classifyThroughService(run, testStore, { batch: 16 });
  assert.equal(s.images, 70);
  assert.equal(s.requests, 5);
  assert.equal(s.accuracy, final.testAcc);
  assert.equal(s.images, final.testImages);
  checkAgreement(s, { accuracy: final.testAcc, images: final.testImages });
  await assert.rejects(fetch(`${s.url}/v2/health/live`), "the server must be closed");
});

test("a store of another key is refused before anything is sent", async () => {
  await assert.rejects(
    classifyThroughService(run, join(t.dir, "other-key")),
    /other-key: encrypted with key .*nothing was sent/,
  );
});

test("a disagreement stops the demo, naming both counts", () => {
  const s = { accuracy: 0.5, correct: 35, images: 70, requests: 5, seconds: 1, url: "http://127.0.0.1:1" };
  checkAgreement(s, { accuracy: 0.5, images: 70 });
  assert.throws(
    () => checkAgreement(s, { accuracy: 36 / 70, images: 70 }),
    /35\/70 encrypted test images correctly, evaluate 36\/70/,
  );
  assert.throws(() => checkAgreement(s, { accuracy: 0.5, images: 72 }), /evaluate 36\/72/);
});
