import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type CipherKey, generateKey } from "../../src/cipher/index.ts";
import { normalizationFor, Store } from "../../src/data/index.ts";
import { buildModel } from "../../src/models/index.ts";
import { Eavesdropper } from "../../src/train/index.ts";
import { writeSyntheticStore } from "./synthetic.ts";

let dir: string;
let key: CipherKey;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-eaves-"));
  key = await generateKey({ blockSize: 4, seed: "eaves" });
  await writeSyntheticStore(join(dir, "s"), { n: 96, classes: 4, size: 16, key, shardSize: 32 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("samples are spread over the candidates and read across shards", () => {
  const store = Store.open(join(dir, "s"));
  const e = new Eavesdropper(
    store,
    Int32Array.from({ length: 96 }, (_, i) => i),
    4,
    null,
    key,
  );
  assert.deepEqual(e.positions, [0, 24, 48, 72]);
  assert.equal(e.n, 4);
});

test("a key-folded adaptation measures as perfect decryption; an untrained one does not", () => {
  const store = Store.open(join(dir, "s"));
  const norm = normalizationFor("store", store.meta);
  const e = new Eavesdropper(
    store,
    Int32Array.from({ length: 96 }, (_, i) => i),
    6,
    norm,
    key,
  );
  const folded = buildModel({ backbone: "resnet20", blockSize: 4, classes: 4, keyFolded: key, normalization: norm });
  const q = e.measure(folded);
  assert.ok(q.psnr! > 60, `PSNR ${q.psnr} dB`);
  assert.ok(q.ssim! > 0.999, `SSIM ${q.ssim}`);
  assert.ok(q.mapError! < 1e-3, `key-map error ${q.mapError}`);
  const fresh = buildModel({ backbone: "resnet20", blockSize: 4, classes: 4 });
  const r = e.measure(fresh);
  assert.ok(r.psnr! < 30 && r.mapError! > 0.5, `untrained: PSNR ${r.psnr}, map error ${r.mapError}`);
  folded.dispose();
  fresh.dispose();
});
