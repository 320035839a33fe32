import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  conv2dStridedReference,
  decrypt,
  decryptionConvWeight,
  encrypt,
  encryptionConvWeight,
  encryptUint8,
  generateKey,
  type ImageDims,
  pixelShuffle,
  pixelShuffleConvTransposeWeight,
  readNpy,
  writeNpy,
} from "../../src/cipher/index.ts";
import { hasNumpy, maxAbsDiff, naturalImage, relErr, runFixture, tempDir } from "./helpers.ts";

function convForm(
  x: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  k: number,
  weight: ReturnType<typeof encryptionConvWeight>,
) {
  const y = conv2dStridedReference(x, { n, c, h, w, layout: "CHW" }, weight);
  return pixelShuffle(y, n, weight.shape[0], h / k, w / k, k);
}

/** Transposed conv (stride = kernel) with [in, out, k, k] weights, groups 1 — reference for the shuffle weight. */
function convTranspose(
  y: Float32Array,
  n: number,
  cin: number,
  h: number,
  w: number,
  wt: ReturnType<typeof pixelShuffleConvTransposeWeight>,
) {
  const [, cout, k] = wt.shape;
  const out = new Float32Array(n * cout * h * k * w * k);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < cin; i++)
      for (let o = 0; o < cout; o++)
        for (let yy = 0; yy < h; yy++)
          for (let xx = 0; xx < w; xx++)
            for (let r = 0; r < k; r++)
              for (let q = 0; q < k; q++)
                out[((b * cout + o) * h * k + yy * k + r) * w * k + xx * k + q] +=
                  y[((b * cin + i) * h + yy) * w + xx] * wt.weight[((i * cout + o) * k + r) * k + q];
  return out;
}

describe("conv form of the cipher", () => {
  for (const k of [1, 2, 3, 4, 8]) {
    it(`k=${k}: pixel_shuffle(conv2d(x, W_enc, stride k, groups C)) equals the block form; W_dec inverts it`, async () => {
      const key = await generateKey({ blockSize: k, seed: `conv-${k}` });
      const h = k * 3;
      const w = k * 2;
      const n = 2;
      const x = new Float32Array(n * 3 * h * w);
      x.set(naturalImage(h, w, 1), 0);
      x.set(naturalImage(h, w, 2), 3 * h * w);
      const dims: ImageDims = { n, c: 3, h, w, layout: "CHW" };
      const enc = encryptionConvWeight(key);
      assert.deepEqual(enc.shape, [3 * k * k, 1, k, k]);
      assert.equal(enc.groups, 3);
      const block = encrypt(x, dims, key);
      const conv = convForm(x, n, 3, h, w, k, enc);
      assert.ok(relErr(conv, block) < 1e-6, `conv vs block ${relErr(conv, block)}`);
      // the conv weights are float32 (K⁻¹ rounded), so allow cond(K)·2⁻²⁴-level error here
      const dec = convForm(block, n, 3, h, w, k, decryptionConvWeight(key));
      assert.ok(relErr(dec, x) < 1e-4, `conv decryption ${relErr(dec, x)}`);
      assert.ok(relErr(dec, decrypt(block, dims, key)) < 1e-4);
      // dense (groups = 1, the study's Conv2d(3, 3k², k, stride=k) shape) gives the same
      const dense = encryptionConvWeight(key, { dense: true });
      assert.deepEqual(dense.shape, [3 * k * k, 3, k, k]);
      assert.equal(dense.groups, 1);
      assert.ok(relErr(convForm(x, n, 3, h, w, k, dense), block) < 1e-6);
      // pixel shuffle as the study's ConvTranspose2d(3k², 3, k, stride=k)
      const y = conv2dStridedReference(x, dims, enc);
      const viaT = convTranspose(y, n, 3 * k * k, h / k, w / k, pixelShuffleConvTransposeWeight(3, k));
      assert.ok(maxAbsDiff(viaT, block) < 1e-4);
    });
  }

  it("mod256: conv then remainder 256 equals encryptUint8", async () => {
    const key = await generateKey({ blockSize: 4, mode: "mod256", seed: "cm" });
    const x8 = Uint8Array.from({ length: 3 * 8 * 8 }, (_, i) => (i * 53) % 256);
    const dims: ImageDims = { c: 3, h: 8, w: 8, layout: "CHW" };
    const y = convForm(Float32Array.from(x8), 1, 3, 8, 8, 4, encryptionConvWeight(key));
    const mod = Uint8Array.from(y, (v) => ((v % 256) + 256) % 256);
    assert.deepEqual(mod, encryptUint8(x8, dims, key));
  });
});

describe("conv form against torch", { skip: !hasNumpy() && "no /usr/bin/python3 with numpy" }, () => {
  it("torch conv2d(groups=3) + pixel_shuffle with our OIHW weights equals the block form", async (t) => {
    const k = 4;
    const key = await generateKey({ blockSize: k, seed: "torch" });
    const dir = tempDir();
    const x = naturalImage(16, 12, 3);
    const enc = encryptionConvWeight(key);
    writeFileSync(join(dir, "conv_w.npy"), writeNpy({ dtype: "float32", shape: enc.shape, data: enc.weight }));
    writeFileSync(join(dir, "conv_x.npy"), writeNpy({ dtype: "float32", shape: [1, 3, 16, 12], data: x }));
    try {
      runFixture("torchconv", dir, String(k), String(enc.groups));
    } catch (e) {
      // numpy-only python: the cross-check cannot run; say so in the report (a bare return would read as a pass)
      if (/No module named 'torch'/.test(String(e))) return t.skip("no torch in /usr/bin/python3");
      throw e;
    }
    const y = readNpy(new Uint8Array(readFileSync(join(dir, "conv_y.npy"))));
    assert.deepEqual(y.shape, [1, 3, 16, 12]);
    const block = encrypt(x, { c: 3, h: 16, w: 12, layout: "CHW" }, key);
    assert.ok(relErr(y.data as Float64Array, block) < 1e-6);
  });
});
