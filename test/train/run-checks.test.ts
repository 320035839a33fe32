// The checks a careful user meets around a run: --resume against a missing run, other flags, another store or key;
// --test with another key or other classes; a one-class store. Each is refused (or, for the options that cannot
// change what is learned, applied and said), naming what differs.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKey, keyToJson } from "../../src/cipher/index.ts";
import { train } from "../../src/train/index.ts";
import { writeSyntheticStore } from "./synthetic.ts";

let dir: string;
const lines: string[] = [];
const opts = { quiet: true, log: (s: string) => void lines.push(s) };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-run-checks-"));
  const key = await generateKey({ blockSize: 4, seed: "run-checks" });
  const other = await generateKey({ blockSize: 4, seed: "run-checks-other" });
  await writeSyntheticStore(join(dir, "train"), { n: 64, classes: 2, size: 8, key, seed: 1 });
  await writeSyntheticStore(join(dir, "test"), { n: 16, classes: 2, size: 8, key, seed: 2 });
  await writeSyntheticStore(join(dir, "test-other-key"), { n: 16, classes: 2, size: 8, key: other, seed: 3 });
  await writeSyntheticStore(join(dir, "test-three-classes"), { n: 18, classes: 3, size: 8, key, seed: 4 });
  await writeSyntheticStore(join(dir, "one-class"), { n: 16, classes: 1, size: 8, key, seed: 5 });
  await writeSyntheticStore(join(dir, "train-other-key"), { n: 64, classes: 2, size: 8, key: other, seed: 1 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (out: string) => ({
  train: join(dir, "train"),
  out: join(dir, out),
  backbone: "resnet20",
  optimizer: "adam" as const,
  batchSize: 16,
  epochs: 2,
  valFraction: 0.25,
  workers: 1,
  threads: 1,
  decryptSamples: 2,
});

test("--resume on a missing run directory is refused and creates nothing", async () => {
  await assert.rejects(train(base("never-started"), { ...opts, resume: true }), /never-started: no run to resume/);
  assert.ok(!existsSync(join(dir, "never-started")), "nothing was created");
});

test("--resume with other training flags is refused naming each field; threads/workers/test are applied", async () => {
  const out = "stopped";
  await train(base(out), { ...opts, stopAfterEpochs: 1 });
  await assert.rejects(
    train({ ...base(out), lr: 0.01, batchSize: 8 }, { ...opts, resume: true }),
    (e: Error) =>
      /cannot resume with different settings/.test(e.message) &&
      /lr 0\.01 \(the run has 0\.002\)/.test(e.message) &&
      /batchSize 8 \(the run has 16\)/.test(e.message),
  );
  await assert.rejects(
    train({ ...base(out), train: join(dir, "train-other-key") }, { ...opts, resume: true }),
    /train ".*train-other-key" \(the run has ".*train"\)/,
  );
  lines.length = 0;
  const r = await train({ ...base(out), test: join(dir, "test") }, { ...opts, resume: true });
  assert.ok(
    lines.some((l) => /resume: applying test ".*test"/.test(l)),
    lines.join("\n"),
  );
  assert.equal(r.testImages, 16, "the test store given on resume was used");
  const cfg = JSON.parse(readFileSync(join(dir, out, "config.json"), "utf8"));
  assert.equal(cfg.test, join(dir, "test"), "config.json records the applied change");
  assert.equal(cfg.lr, 0.002);
});

test("--resume after the store was replaced by one under another key is refused", async () => {
  const out = "swapped";
  const cfg = { ...base(out), train: join(dir, "swap") };
  const key = await generateKey({ blockSize: 4, seed: "run-checks" });
  const other = await generateKey({ blockSize: 4, seed: "run-checks-other" });
  await writeSyntheticStore(join(dir, "swap"), { n: 64, classes: 2, size: 8, key, seed: 1 });
  await train(cfg, { ...opts, stopAfterEpochs: 1 });
  rmSync(join(dir, "swap"), { recursive: true });
  await writeSyntheticStore(join(dir, "swap"), { n: 64, classes: 2, size: 8, key: other, seed: 1 });
  await assert.rejects(train(cfg, { ...opts, resume: true }), /swap: encrypted with a different key/);
});

test("--test with another key or other classes is refused by the shared check", async () => {
  await assert.rejects(
    train({ ...base("t1"), test: join(dir, "test-other-key") }, opts),
    /test-other-key: encrypted with a different key.*training store/,
  );
  await assert.rejects(
    train({ ...base("t2"), test: join(dir, "test-three-classes") }, opts),
    /test-three-classes: classes \[class0, class1, class2\] \(3\) differ from the training store/,
  );
});

test("a one-class store is refused: the accuracy would say nothing", async () => {
  await assert.rejects(
    train({ ...base("one"), train: join(dir, "one-class") }, opts),
    /one-class: the store has 1 class \(class0\)/,
  );
});

test("--key-folded with a block-scrambling key is refused: folding undoes the matrices, not the block order", async () => {
  const key = await generateKey({ blockSize: 4, seed: "run-checks-scrambled", scramble: true });
  await writeSyntheticStore(join(dir, "train-scrambled"), { n: 64, classes: 2, size: 8, key, seed: 6 });
  const keyFile = join(dir, "scrambled-key.json");
  writeFileSync(keyFile, keyToJson(key), { mode: 0o600 });
  await assert.rejects(
    train({ ...base("scrambled-folded"), train: join(dir, "train-scrambled"), keyFolded: keyFile }, opts),
    /--key-folded: key .*scrambled-key\.json uses block scrambling/,
  );
  // the store says it is scrambled (never the seed), so block-moving augmentation is refused without the key
  const meta = JSON.parse(readFileSync(join(dir, "train-scrambled", "meta.json"), "utf8"));
  assert.equal(meta.key.scrambled, true);
  assert.ok(!JSON.stringify(meta).includes(key.scramble!.seed));
  await assert.rejects(
    train({ ...base("scrambled-augment"), train: join(dir, "train-scrambled"), augment: "cipher-safe" }, opts),
    /--augment cipher-safe: .*train-scrambled was encrypted with block scrambling/,
  );
  assert.equal(JSON.parse(readFileSync(join(dir, "train", "meta.json"), "utf8")).key.scrambled, undefined);
});
