import assert from "node:assert/strict";
import { test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { decryptStoreValues, encryptStoreValues, storeValuesDescription } from "../../src/data/index.ts";

test("mod256 store values stay in [0,1] and round-trip exactly; real keys round-trip within float32", async () => {
  const dims = { n: 2, c: 3, h: 8, w: 8, layout: "CHW" as const };
  const x = Float32Array.from({ length: 2 * 3 * 64 }, (_, i) => ((i * 37) % 256) / 255);
  const k8 = await generateKey({ mode: "mod256", blockSize: 4, seed: "m" });
  const c = encryptStoreValues(x, dims, k8);
  assert.ok(c.every((v) => v >= 0 && v <= 1 && Math.abs(v * 255 - Math.round(v * 255)) < 1e-4));
  assert.notDeepEqual(Array.from(c), Array.from(x));
  assert.deepEqual(Array.from(decryptStoreValues(c, dims, k8)), Array.from(x), "exact for mod256");
  const kr = await generateKey({ blockSize: 4, seed: "r" });
  const back = decryptStoreValues(encryptStoreValues(x, dims, kr), dims, kr);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i] - x[i]) < 1e-5);
  assert.match(storeValuesDescription(k8), /mod 256/);
});
