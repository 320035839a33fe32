import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type CipherKey, generateKey } from "../../src/cipher/index.ts";
import { Loader, type Normalization } from "../../src/data/index.ts";
import { saveKey } from "../../src/data/keyfile.ts";
import { loadCheckpoint } from "../../src/models/index.ts";
import { loadSafetensors } from "../../src/torch/index.ts";
import { type EpochMetrics, evaluate, train } from "../../src/train/index.ts";
import { writeSyntheticStore } from "./synthetic.ts";

let dir: string;
let key: CipherKey;
let keyPath: string;
const quiet = { quiet: true, log: () => {} };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-train-"));
  key = await generateKey({ blockSize: 4, seed: "train-tests" });
  keyPath = join(dir, "key.json");
  await saveKey(keyPath, key);
  await writeSyntheticStore(join(dir, "train"), { n: 320, classes: 4, size: 16, key, seed: 1, shardSize: 128 });
  await writeSyntheticStore(join(dir, "test"), { n: 120, classes: 4, size: 16, key, seed: 2 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = () => ({
  train: join(dir, "train"),
  test: join(dir, "test"),
  backbone: "resnet20",
  adapt: "aligned" as const,
  optimizer: "adam" as const,
  lr: 0.002,
  batchSize: 16,
  epochs: 3,
  valFraction: 0.25,
  normalize: "store" as const,
  workers: 1,
  threads: 1,
  decryptSamples: 4,
});

const readMetrics = (out: string): EpochMetrics[] =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

test("a tiny encrypted run learns well above chance and writes metrics, checkpoints, pictures", async () => {
  const out = join(dir, "run-basic");
  const r = await train({ ...base(), out, evalKey: keyPath, epochs: 4 }, quiet);
  assert.ok(r.bestValAcc > 0.6, `best val acc ${r.bestValAcc} should beat chance (0.25) clearly`);
  assert.ok(r.testAcc !== null && r.testAcc > 0.6, `test acc ${r.testAcc}`);
  assert.equal(r.testImages, 120);
  assert.equal(r.trainImages + r.valImages, 320);
  assert.ok(Number.isFinite(r.psnr) && Number.isFinite(r.ssim), "decryption quality is measured with the eval key");
  const rows = readMetrics(out);
  assert.deepEqual(
    rows.filter((m) => m.split === "val").map((m) => m.epoch),
    [1, 2, 3, 4],
  );
  assert.equal(rows.filter((m) => m.split === "test").length, 1);
  for (const f of [
    "config.json",
    "final.json",
    "pictures/final.png",
    "pictures/round-1.png",
    "best/model.safetensors",
    "last/state.json",
  ])
    assert.ok(existsSync(join(out, f)), `${f} exists`);
  // evaluation data is normalised with the TRAINING store's statistics, which the checkpoint records
  const trainStats = JSON.parse(readFileSync(join(dir, "train", "meta.json"), "utf8")).stats;
  const testStats = JSON.parse(readFileSync(join(dir, "test", "meta.json"), "utf8")).stats;
  assert.notDeepEqual(trainStats.mean, testStats.mean);
  const recorded = JSON.parse(readFileSync(join(out, "best", "checkpoint.json"), "utf8")).extra.normalization;
  assert.deepEqual(recorded, { mean: trainStats.mean, std: trainStats.std });
  const { model } = await loadCheckpoint(join(out, "best"));
  const lossWith = async (o: { normalize: "store" } | { normalization: Normalization }) => {
    const l = await Loader.fromStore(join(dir, "test"), { batchSize: 16, shuffle: false, workers: 1, ...o });
    try {
      return (await evaluate(model, l)).loss;
    } finally {
      await l.close();
    }
  };
  assert.ok(Math.abs((await lossWith({ normalization: recorded })) - r.testLoss!) < 1e-6, "test loss as reported");
  assert.ok(Math.abs((await lossWith({ normalize: "store" })) - r.testLoss!) > 1e-6, "own statistics would differ");
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.equal(cfg.evalKey, keyPath, "the config names the key file, never its values");
  assert.ok(!readFileSync(join(out, "config.json"), "utf8").includes(String(key.values[0])));
  // an existing run is not overwritten without --resume
  await assert.rejects(train({ ...base(), out }, quiet), /already holds a run/);
});

test("without a validation split the eavesdropper's view is kept with each round's training rows", async () => {
  const out = join(dir, "run-no-val");
  await train({ ...base(), out, evalKey: keyPath, epochs: 1, rounds: 2, valFraction: 0 }, quiet);
  const rows = readMetrics(out);
  assert.equal(rows.filter((m) => m.split === "val").length, 0);
  const trainRows = rows.filter((m) => m.split === "train");
  assert.deepEqual(
    trainRows.map((m) => m.round),
    [1, 2],
  );
  for (const m of trainRows) assert.ok(Number.isFinite(m.psnr) && Number.isFinite(m.ssim), JSON.stringify(m));
});

test("resume after an interruption gives the same metrics as an uninterrupted run", async () => {
  const a = join(dir, "run-straight");
  const b = join(dir, "run-resumed");
  await train({ ...base(), out: a }, quiet);
  const partial = await train({ ...base(), out: b }, { ...quiet, stopAfterEpochs: 1 });
  assert.equal(partial.testAcc, null);
  assert.equal(readMetrics(b).length, 2, "one epoch (train + val rows) was recorded before the stop");
  await train({ ...base(), out: b }, { ...quiet, resume: true });
  const ma = readMetrics(a);
  const mb = readMetrics(b);
  assert.equal(mb.length, ma.length);
  ma.forEach((m, i) => {
    assert.equal(mb[i].split, m.split);
    assert.ok(Math.abs((mb[i].loss ?? 0) - (m.loss ?? 0)) < 1e-5, `row ${i}: loss ${mb[i].loss} vs ${m.loss}`);
    assert.equal(mb[i].acc, m.acc);
  });
});

test("multi-round training keeps the adaptation weights and replaces the backbone's", async () => {
  const out = join(dir, "run-rounds");
  const cfg = { ...base(), out, epochs: 1, rounds: 2 };
  const snap = (t: { toArray(): number[] }) => t.toArray().slice(0, 64);
  await train(cfg, { ...quiet, stopAfterEpochs: 1 }); // round 1 only
  const { tensors } = await loadSafetensors(join(out, "last", "model.safetensors"));
  const adaptAfter1 = snap(tensors.get("adapt.conv.weight")!);
  const backboneAfter1 = snap(tensors.get("backbone.conv1.weight")!);
  const seen: { round: number; adapt: number[]; backbone: number[] }[] = [];
  await train(cfg, {
    ...quiet,
    resume: true,
    onRoundStart: (model, round) => {
      seen.push({
        round,
        adapt: snap(model.adapt.conv!.weight),
        backbone: snap(model.backbone.stateDict().get("conv1.weight")!),
      });
    },
  });
  assert.deepEqual(
    seen.map((s) => s.round),
    [2],
  );
  assert.deepEqual(seen[0].adapt, adaptAfter1, "round 2 starts from round 1's trained adaptation network");
  assert.notDeepEqual(seen[0].backbone, backboneAfter1, "round 2 starts from a fresh backbone");
  const rounds = readMetrics(out)
    .filter((m) => m.split === "val")
    .map((m) => m.round);
  assert.deepEqual(rounds, [1, 2]);
});

test("--freeze backbone trains only the adaptation and the head, in every round", async () => {
  const out = join(dir, "run-frozen");
  const seen: { round: number; frozen: boolean; adaptTrainable: boolean }[] = [];
  let conv1Start: number[] = [];
  let adaptStart: number[] = [];
  await train(
    { ...base(), out, epochs: 1, rounds: 2, freeze: ["backbone"] },
    {
      ...quiet,
      onRoundStart: (model, round) => {
        seen.push({ round, frozen: model.isFrozen("backbone"), adaptTrainable: !model.isFrozen("adapt") });
        conv1Start = model.backbone.stateDict().get("conv1.weight")!.toArray();
        if (round === 1) adaptStart = model.adapt.conv!.weight.toArray();
      },
    },
  );
  assert.deepEqual(seen, [
    { round: 1, frozen: true, adaptTrainable: true },
    { round: 2, frozen: true, adaptTrainable: true },
  ]);
  const { tensors } = await loadSafetensors(join(out, "last", "model.safetensors"));
  assert.deepEqual(tensors.get("backbone.conv1.weight")!.toArray(), conv1Start, "the frozen backbone did not move");
  assert.notDeepEqual(tensors.get("adapt.conv.weight")!.toArray(), adaptStart, "the adaptation trained");
  await assert.rejects(
    train({ ...base(), out: join(dir, "bad-freeze"), freeze: ["everything" as "head"] }, quiet),
    /freeze must list parts/,
  );
});
