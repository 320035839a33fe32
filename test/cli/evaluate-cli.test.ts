// `ercnn evaluate`: a trained model on a store, normalised with the TRAINING store's statistics (recorded in the
// checkpoint, or for older checkpoints taken from the training store the run's config names); it reproduces the
// trainer's own test number, --tta flip changes it, and a store of another key, or other classes, is refused.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { readNpy, writeNpy } from "../../src/core/npy.ts";
import { channelSums } from "../../src/data/store.ts";
import { statsFromShards } from "../../src/data/store-meta.ts";
import { train } from "../../src/train/index.ts";
import { tempDir } from "../data/helpers.ts";
import { writeSyntheticStore } from "../train/synthetic.ts";

const t = tempDir("ercnn-evaluate-");
after(t.cleanup);
const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" });
const run = join(t.dir, "run");
const testStore = join(t.dir, "test");
let final: { testAcc: number; testLoss: number };

before(async () => {
  const key = await generateKey({ blockSize: 4, seed: "evaluate-cli" });
  const other = await generateKey({ blockSize: 4, seed: "evaluate-cli-other" });
  await writeSyntheticStore(join(t.dir, "train"), { n: 160, classes: 4, size: 16, key, seed: 1 });
  await writeSyntheticStore(testStore, { n: 64, classes: 4, size: 16, key, seed: 2 });
  await writeSyntheticStore(join(t.dir, "other-key"), { n: 16, classes: 4, size: 16, key: other, seed: 3 });
  await writeSyntheticStore(join(t.dir, "three-classes"), { n: 15, classes: 3, size: 16, key, seed: 4 });
  final = (await train(
    {
      train: join(t.dir, "train"),
      test: testStore,
      out: run,
      backbone: "resnet20",
      optimizer: "adam",
      batchSize: 16,
      epochs: 1,
      valFraction: 0.25,
      normalize: "store",
      workers: 1,
      threads: 1,
      decryptSamples: 2,
    },
    { quiet: true, log: () => {} },
  )) as typeof final;
});

const evaluateJson = (...extra: string[]) => {
  const r = cli("evaluate", run, testStore, "--json", "--workers", "1", ...extra);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { accuracy: number; loss: number; images: number; tta: string };
};

test("evaluate reproduces the trainer's test accuracy and loss; --tta flip changes the loss", () => {
  const plain = evaluateJson();
  assert.equal(plain.images, 64);
  assert.equal(plain.accuracy, final.testAcc);
  assert.ok(Math.abs(plain.loss - final.testLoss) < 1e-6, `${plain.loss} vs ${final.testLoss}`);
  const tta = evaluateJson("--tta", "flip");
  assert.equal(tta.tta, "flip");
  assert.ok(Math.abs(tta.loss - plain.loss) > 1e-6, "mirrored logits must change the loss");
});

test("a checkpoint without recorded statistics falls back to the training store the run's config names", () => {
  const meta = join(run, "best", "checkpoint.json");
  const m = JSON.parse(readFileSync(meta, "utf8"));
  delete m.extra;
  writeFileSync(meta, JSON.stringify(m));
  const r = evaluateJson();
  assert.ok(Math.abs(r.loss - final.testLoss) < 1e-6, `${r.loss} vs ${final.testLoss}`);
});

test("evaluate refuses a store of another key or other classes, naming it", () => {
  const k = cli("evaluate", run, join(t.dir, "other-key"));
  assert.equal(k.status, 1);
  assert.match(k.stderr, /other-key.*different key/);
  const c = cli("evaluate", run, join(t.dir, "three-classes"));
  assert.equal(c.status, 1);
  assert.match(c.stderr, /three-classes.*classes/);
});

test("evaluate names the problem when there is no checkpoint, and refuses bad batch sizes", () => {
  const empty = join(t.dir, "run-without-checkpoint");
  mkdirSync(empty);
  writeFileSync(join(empty, "config.json"), "{}");
  const r = cli("evaluate", empty, testStore);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /run-without-checkpoint: a run directory without a checkpoint yet/);
  assert.doesNotMatch(r.stderr, /ENOENT/);
  const missing = cli("evaluate", join(t.dir, "no-such-run"), testStore);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no-such-run: no such directory/);
  for (const b of ["0", "-3", "2.5", "abc"]) {
    const bad = cli("evaluate", run, testStore, "-b", b);
    assert.equal(bad.status, 1, `-b ${b} must be refused`);
    assert.match(bad.stderr, /--batch-size/);
  }
});

/** A copy of the test store with `edit` applied to shard 0's values (meta.json's sums and stats kept or refreshed). */
function editedStore(name: string, edit: (x: Float32Array) => void, refreshSums: boolean): string {
  const dir = join(t.dir, name);
  cpSync(testStore, dir, { recursive: true });
  const f = join(dir, "shard-00000.x.npy");
  const a = readNpy(new Uint8Array(readFileSync(f)), f);
  edit(a.data as Float32Array);
  writeFileSync(f, writeNpy(a));
  if (refreshSums) {
    const metaPath = join(dir, "meta.json");
    const meta = JSON.parse(readFileSync(metaPath, "utf8"));
    const [c, h, w] = meta.shape;
    Object.assign(meta.shards[0], channelSums(a.data as Float32Array, meta.shards[0].count, c, h * w));
    meta.stats = statsFromShards(meta.shards, c, h * w);
    writeFileSync(metaPath, JSON.stringify(meta));
  }
  return dir;
}

test("a store with a NaN pixel is refused naming the shard, not evaluated to 'loss NaN'", () => {
  const dir = editedStore("nan", (x) => (x[100] = Number.NaN), false);
  const r = cli("evaluate", run, dir, "--workers", "1");
  assert.equal(r.status, 1, r.stdout);
  assert.match(
    r.stderr,
    /shard-00000\.x\.npy holds NaN at image 0 of the shard, channel 0: a value that is not finite/,
  );
});

test("finite inputs the model overflows on give an error, not 'loss NaN' and exit 0", () => {
  const dir = editedStore(
    "huge",
    (x) => {
      for (let i = 0; i < x.length; i++) x[i] *= 1e36;
    },
    true,
  );
  const r = cli("evaluate", run, dir, "--workers", "1");
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /loss is (NaN|Infinity|-Infinity) on .*huge/);
});
