import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type CipherKey, encrypt, generateKey } from "../../src/cipher/index.ts";
import { translate } from "../../src/data/augment.ts";
import { Loader } from "../../src/data/loader.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../../src/data/normalize.ts";
import { stratifiedSplit } from "../../src/data/splits.ts";
import { StoreWriter } from "../../src/data/store.ts";
import { tempDir } from "./helpers.ts";

const t = tempDir();
after(t.cleanup);
let key: CipherKey;
const N = 50;
let plain: Float32Array;

before(async () => {
  key = await generateKey({ blockSize: 4, seed: "loader" });
  plain = new Float32Array(N * 3 * 64);
  for (let i = 0; i < plain.length; i++) plain[i] = ((i * 2654435761) % 1000) / 1000;
  const x = encrypt(plain, { n: N, c: 3, h: 8, w: 8, layout: "CHW" }, key);
  const w = await StoreWriter.open(join(t.dir, "s"), {
    key,
    classes: ["a", "b", "c", "d", "e"],
    shape: [3, 8, 8],
    source: { kind: "test", description: "test" },
    plan: { total: N, shardSize: 20, hash: "h" },
  });
  for (let s = 0; s < 3; s++) {
    const a = s * 20;
    const b = Math.min(N, a + 20);
    await w.writeShard(
      s,
      x.slice(a * 192, b * 192),
      Array.from({ length: b - a }, (_, i) => (a + i) % 5),
    );
  }
  await w.finish();
});

test("an epoch covers every image once, seeded and reproducible", async () => {
  const l = await Loader.fromStore(join(t.dir, "s"), { batchSize: 8, seed: 3, workers: 2 });
  assert.equal(l.epochSize, N);
  assert.equal(l.batchesPerEpoch, 7);
  const firsts: number[] = [];
  let n = 0;
  const seen: number[] = [];
  for await (const b of l) {
    assert.deepEqual(b.shape, [b.n, 3, 8, 8]);
    n += b.n;
    seen.push(...b.y);
    firsts.push(b.x[0]);
  }
  assert.equal(n, N);
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    Array.from({ length: N }, (_, i) => i % 5).sort((a, b) => a - b),
  );
  const again: number[] = [];
  for await (const b of l.iterateEpoch(0)) again.push(b.x[0]);
  assert.deepEqual(again, firsts);
  await l.close();
  const d = await Loader.fromStore(join(t.dir, "s"), { batchSize: 8, dropLast: true, workers: 1 });
  assert.equal(d.batchesPerEpoch, 6);
  await d.close();
});

test("normalisation: imagenet and per-store statistics", async () => {
  const l = await Loader.fromStore(join(t.dir, "s"), {
    batchSize: N,
    shuffle: false,
    normalize: "imagenet",
    workers: 1,
  });
  const raw = l.store.readAll({ shared: false }).x;
  for await (const b of l) {
    assert.ok(Math.abs(b.x[70] - (raw[70] - IMAGENET_MEAN[1]) / IMAGENET_STD[1]) < 1e-5);
  }
  await l.close();
  const s = await Loader.fromStore(join(t.dir, "s"), { batchSize: N, shuffle: false, normalize: "store", workers: 1 });
  for await (const b of s) {
    let m = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < 64; j++) m += b.x[i * 192 + j];
    assert.ok(Math.abs(m / (N * 64)) < 1e-4, `mean ${m / (N * 64)}`);
  }
  await s.close();
  // an explicit normalisation (another store's statistics) wins over the store's own
  const given = { mean: [0.5, -1, 2], std: [2, 4, 0.5] };
  const e = await Loader.fromStore(join(t.dir, "s"), {
    batchSize: N,
    shuffle: false,
    normalize: "store",
    normalization: given,
    workers: 1,
  });
  for await (const b of e)
    for (const i of [5, 70, 150]) {
      const ch = Math.floor(i / 64);
      assert.ok(Math.abs(b.x[i] - (raw[i] - given.mean[ch]) / given.std[ch]) < 1e-5, `x[${i}] = ${b.x[i]}`);
    }
  await e.close();
});

test("cipher-safe augmentation: a block-aligned shift of a ciphertext is the ciphertext of the shifted image", () => {
  const dims = { n: 1, c: 3, h: 8, w: 8, layout: "CHW" as const };
  const p = plain.slice(0, 192);
  const c = encrypt(p, dims, key);
  for (const [dy, dx] of [
    [4, 0],
    [0, -4],
    [-4, 4],
  ]) {
    const a = new Float32Array(192);
    translate(c, 0, a, 0, 3, 8, 8, dy, dx);
    const ps = new Float32Array(192);
    translate(p, 0, ps, 0, 3, 8, 8, dy, dx);
    const b = encrypt(ps, dims, key);
    for (let i = 0; i < 192; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5);
  }
  // A 1-pixel shift or a flip is not: no plaintext maps to it under the same key (checked on this instance).
  const a = new Float32Array(192);
  translate(c, 0, a, 0, 3, 8, 8, 0, 1);
  const ps = new Float32Array(192);
  translate(p, 0, ps, 0, 3, 8, 8, 0, 1);
  const b = encrypt(ps, dims, key);
  assert.ok(a.some((v, i) => Math.abs(v - b[i]) > 1e-3));
});

test("plain augmentation is refused on ciphertext; loader batches use it on plain data", async () => {
  await assert.rejects(Loader.fromStore(join(t.dir, "s"), { batchSize: 4, augment: "plain" }), /invalid on ciphertext/);
  const l = await Loader.fromStore(join(t.dir, "s"), { batchSize: 10, augment: "cipher-safe", workers: 2 });
  let n = 0;
  for await (const b of l) n += b.n;
  assert.equal(n, N);
  await l.close();
});

test("a split restricts the loader", async () => {
  const labels = Array.from({ length: N }, (_, i) => i % 5);
  const { train, val } = stratifiedSplit(labels, 0.2, 1);
  const l = await Loader.fromStore(join(t.dir, "s"), { batchSize: 16, indices: val, workers: 1 });
  assert.equal(l.epochSize, val.length);
  let n = 0;
  for await (const b of l) n += b.n;
  assert.equal(n, 10);
  assert.equal(train.length, 40);
  await l.close();
});

test("shard(): ranks split each epoch's shared order like DistributedSampler (padded) or exactly (evaluation)", async () => {
  const open = () => Loader.fromStore(join(t.dir, "s"), { batchSize: 8, seed: 3, workers: 1 });
  const whole = await open();
  const full = Array.from(whole.order(2));
  const ranks = [await open(), await open(), await open()];
  // padded: every rank draws ceil(N / 3); position i of rank r is full[(r + 3i) mod N]
  for (const [r, l] of ranks.entries()) {
    l.shard(r, 3, { padded: true });
    assert.equal(l.epochSize, Math.ceil(N / 3));
    assert.deepEqual(
      Array.from(l.order(2)),
      Array.from({ length: l.epochSize }, (_, i) => full[(r + 3 * i) % N]),
    );
  }
  // exact: the ranks' orders together are the epoch's order once, no repeats
  const seen: number[] = [];
  for (const [r, l] of ranks.entries()) seen.push(...l.shard(r, 3, { padded: false }).order(2));
  assert.equal(seen.length, N);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    [...full].sort((a, b) => a - b),
  );
  assert.throws(() => whole.shard(3, 3, { padded: true }), /rank must be in 0\.\.2/);
  for (const l of [whole, ...ranks]) await l.close();
});
