// The libtorch bulk path (bench/cipher-torch.ts, a benchmark reference) against the pure-TS cipher (float64 accumulation): both
// methods, both layouts, whole-batch and chunked, and decryption round trips.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TorchCipher } from "../../bench/cipher-torch.ts";
import { decrypt, encrypt, generateKey, type Layout } from "../../src/cipher/index.ts";

function rel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

describe("TorchCipher", () => {
  for (const k of [2, 4, 8])
    for (const layout of ["CHW", "HWC"] as Layout[])
      test(`k=${k} ${layout}: matmul and conv, chunked or not, equal the TS cipher`, async () => {
        const key = await generateKey({ blockSize: k, seed: `torch-${k}` });
        const dims = { n: 5, c: 3, h: 2 * k, w: 3 * k, layout };
        const x = Float32Array.from({ length: 5 * 3 * 6 * k * k }, (_, i) => ((i * 7919) % 1009) / 1009);
        const ref = encrypt(x, dims, key);
        for (const method of ["matmul", "conv"] as const)
          for (const chunkBytes of [0, 1, 2 * 3 * 6 * k * k * 4]) {
            const tc = new TorchCipher(key, { method, chunkBytes });
            const c = tc.encrypt(x, dims);
            assert.ok(rel(c, ref) < 1e-5, `${method} chunk ${chunkBytes}: ${rel(c, ref)}`);
            const back = tc.decrypt(c, dims, new Float32Array(x.length));
            assert.ok(rel(back, decrypt(ref, dims, key)) < 1e-4);
            tc.dispose();
          }
      });

  test("a wrong-sized output array is refused", async () => {
    const key = await generateKey({ blockSize: 4, seed: "torch-out" });
    const tc = new TorchCipher(key);
    assert.throws(
      () => tc.encrypt(new Float32Array(3 * 16), { c: 3, h: 4, w: 4, layout: "CHW" }, new Float32Array(5)),
      /out has 5 elements/,
    );
    tc.dispose();
  });
});
