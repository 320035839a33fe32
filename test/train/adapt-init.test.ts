// The key-free starts of the aligned adaptation inside `train`: whitening (a symmetric ZCA conv over the training
// ciphertexts) and the ciphertext-only attack's estimate (the composed adaptation map equals the estimate's K⁻¹),
// and the block-aligned backbone behind them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { attackStore } from "../../src/attack/index.ts";
import { generateKey } from "../../src/cipher/index.ts";
import { Store } from "../../src/data/index.ts";
import type { ERModel } from "../../src/models/index.ts";
import { composedAdaptationMap, keyMapError } from "../../src/report/metrics.ts";
import { train } from "../../src/train/index.ts";
import { writeSyntheticStore } from "./synthetic.ts";

let dir: string;
const quiet = { quiet: true, log: () => {} };
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-init-"));
  const key = await generateKey({ blockSize: 4, seed: "init-tests" });
  await writeSyntheticStore(join(dir, "enc"), { n: 96, classes: 2, size: 16, key, seed: 3 });
  await writeSyntheticStore(join(dir, "plain"), { n: 96, classes: 2, size: 16, key: null, seed: 4, shardSize: 40 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (out: string) => ({
  train: join(dir, "enc"),
  out: join(dir, out),
  backbone: "blockresnet_s",
  batchSize: 16,
  epochs: 1,
  valFraction: 0.25,
  normalize: "store" as const,
  workers: 1,
  threads: 1,
});
const convOf = (m: ERModel) => m.adapt.conv!.weight.toFloat32Array();

test("--adapt-init whiten: the adaptation conv starts as a symmetric (ZCA) map, unlike the default init", async () => {
  const seen: Float32Array[] = [];
  for (const [name, adaptInit] of [
    ["w", "whiten"],
    ["d", "default"],
  ] as const)
    await train(
      { ...base(name), adaptInit },
      { ...quiet, stopAfterEpochs: 0, onRoundStart: (m) => void seen.push(convOf(m)) },
    );
  const asym = (w: Float32Array) => {
    const d = Math.round(Math.sqrt(w.length));
    let a = 0;
    let s = 0;
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        a = Math.max(a, Math.abs(w[i * d + j] - w[j * d + i]));
        s = Math.max(s, Math.abs(w[i * d + j]));
      }
    return a / s;
  };
  assert.ok(asym(seen[0]) < 1e-5, `whitening conv asymmetry ${asym(seen[0])}`);
  assert.ok(asym(seen[1]) > 0.1, "the default init is not symmetric");
});

test("--adapt-init attack folds the ciphertext-only estimate into the adaptation; it needs --reference", async () => {
  let map: Float64Array | Float32Array | null = null;
  await train(
    { ...base("a"), adaptInit: "attack", reference: join(dir, "plain") },
    {
      ...quiet,
      stopAfterEpochs: 0,
      onRoundStart: (m) => {
        const a = m.adapt;
        map = composedAdaptationMap(
          a.conv!.weight.toFloat32Array(),
          a.conv!.bias!.toFloat32Array(),
          a.deconv!.weight.toFloat32Array(),
          a.deconv!.bias!.toFloat32Array(),
          4,
        ).M;
      },
    },
  );
  // the same pipeline and defaults as the trainer (attackStore), so the same estimate
  const est = attackStore(Store.open(join(dir, "enc")), Store.open(join(dir, "plain")));
  assert.ok(map, "the round-start hook ran");
  const err = keyMapError(map!, est.inverse, 3, 4).relError;
  assert.ok(err < 1e-5, `adaptation vs estimate: ${err}`);
  await assert.rejects(train({ ...base("b"), adaptInit: "attack" }, quiet), /reference must name a plain store/);
});

test("Store.images: shard by shard, the kept positions in order, at most `limit`", () => {
  const store = Store.open(join(dir, "plain"));
  const all = store.readAll({ shared: false }).x;
  const per = 3 * 16 * 16;
  const got: number[] = [];
  const chunks = [...store.images({ limit: 30, keep: (p) => p % 3 === 0 })];
  for (const { x, n } of chunks) for (let i = 0; i < n; i++) got.push(x[i * per + 5]);
  const want = Array.from({ length: 30 }, (_, j) => all[3 * j * per + 5]);
  assert.deepEqual(got, want);
  assert.deepEqual(
    chunks.map((c) => c.n),
    [14, 13, 3],
  );
  assert.equal(
    [...store.images({ limit: 50 })].reduce((a, c) => a + c.n, 0),
    50,
  );
});
