// The block ViT (src/models/vit.ts) is encryption-invariant: a ViT with weights W on plaintexts computes exactly what
// the same ViT with W' = (the key's inverse folded into the patch embedding, the position embeddings permuted by
// the scrambling) computes on the scrambled Hill ciphertexts. Checked in float32 against the plaintext forward.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { blockPermutation, encrypt, generateKey, inverseKey } from "../../src/cipher/index.ts";
import { BACKBONES, createBackbone } from "../../src/models/index.ts";
import { fromTypedArray, noGrad, tidy } from "../../src/torch/index.ts";

describe("vit_block_tiny", () => {
  test("parameter count; a grid of 8×8 blocks (32×32 at k = 4, 64×64 at k = 8) and a clear error for other sizes", () => {
    const m = createBackbone("vit_block_tiny", { numClasses: 10, patchSize: 4 });
    assert.equal(m.numParameters(), BACKBONES.get("vit_block_tiny")?.params);
    assert.throws(
      () => tidy(() => m.forward(fromTypedArray(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]))),
      /built for 32×32 inputs.*got 64×64/,
    );
    m.dispose();
    // k = 8: the same 64 tokens from 64×64 inputs; only conv_proj grows (3·64 inputs per token instead of 3·16)
    const m8 = createBackbone("vit_block_tiny", { numClasses: 10, patchSize: 8 });
    assert.equal(m8.numParameters() - (BACKBONES.get("vit_block_tiny")?.params ?? 0), 128 * 3 * (64 - 16));
    const y = tidy(() => noGrad(() => m8.forward(fromTypedArray(new Float32Array(2 * 3 * 64 * 64), [2, 3, 64, 64]))));
    assert.deepEqual(y.shape, [2, 10]);
    y.dispose();
    assert.throws(
      () => tidy(() => m8.forward(fromTypedArray(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]))),
      /built for 64×64 inputs.*got 32×32/,
    );
    m8.dispose();
  });

  for (const [s, k] of [
    [32, 4],
    [64, 8],
  ])
    test(`absorbs a scrambling Hill key exactly at k = ${k} (${s}×${s}): folded weights on ciphertexts = original on plaintexts`, async () => {
      const [n, c] = [3, 3];
      const key = await generateKey({
        blockSize: k,
        channels: c,
        seed: "vit-invariance",
        scramble: true,
        mode: "orthogonal",
      });
      const x = Float32Array.from({ length: n * c * s * s }, (_, i) => ((i * 2654435761) % 1000) / 1000);
      const y = encrypt(x, { n, c, h: s, w: s, layout: "CHW" }, key);
      const plainModel = createBackbone("vit_block_tiny", { numClasses: 5, patchSize: k });
      const cipherModel = createBackbone("vit_block_tiny", { numClasses: 5, patchSize: k });
      const sd = plainModel.stateDict();
      const folded = new Map<string, ReturnType<typeof fromTypedArray>>();
      const d = k * k;
      const inv = inverseKey(key);
      const gw = s / k;
      const perm = blockPermutation(key.scramble as NonNullable<typeof key.scramble>, gw, gw);
      for (const [name, t] of sd) {
        const v = t.toFloat32Array();
        if (name === "conv_proj.weight") {
          // W'[o, ch, j] = Σ_i K⁻¹_ch[j, i] W[o, ch, i] (block vectors row-major, as the cipher's)
          const dim = t.shape[0];
          const w2 = new Float32Array(v.length);
          for (let o = 0; o < dim; o++)
            for (let ch = 0; ch < c; ch++)
              for (let j = 0; j < d; j++) {
                let acc = 0;
                for (let i = 0; i < d; i++) acc += inv[(ch * d + j) * d + i] * v[(o * c + ch) * d + i];
                w2[(o * c + ch) * d + j] = acc;
              }
          folded.set(name, fromTypedArray(w2, t.shape));
        } else if (name === "encoder.pos_embedding") {
          // the token at ciphertext position j carries the block from position perm[j]
          const dim = t.shape[2];
          const p2 = Float32Array.from(v);
          for (let j = 0; j < perm.length; j++)
            p2.set(v.subarray((1 + perm[j]) * dim, (2 + perm[j]) * dim), (1 + j) * dim);
          folded.set(name, fromTypedArray(p2, t.shape));
        } else folded.set(name, fromTypedArray(v, t.shape));
      }
      cipherModel.loadStateDict(folded);
      const [a, b] = tidy(() =>
        noGrad(() => [
          plainModel.forward(fromTypedArray(x, [n, c, s, s])).toFloat32Array(),
          cipherModel.forward(fromTypedArray(y, [n, c, s, s])).toFloat32Array(),
        ]),
      );
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      assert.ok(worst < 1e-3, `max |logit difference| ${worst}`);
      // and the plain model itself is NOT invariant (the check above is not vacuous)
      const z = tidy(() => noGrad(() => plainModel.forward(fromTypedArray(y, [n, c, s, s])).toFloat32Array()));
      assert.ok(z.some((v, i) => Math.abs(v - a[i]) > 1e-2));
      for (const t of folded.values()) t.dispose();
      plainModel.dispose();
      cipherModel.dispose();
    });
});
