// BlockResNet's stem is aligned with the cipher blocks, so the network absorbs any block key exactly: with its stem
// weights multiplied by K⁻¹ it gives, on ciphertexts, the logits the original gives on the plaintexts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import { BlockResNet, invertKey } from "../../src/models/index.ts";
import { fromTypedArray, manualSeed, noGrad, tidy } from "../../src/torch/index.ts";
import { relErr } from "./helpers.ts";

test("BlockResNet with a K⁻¹-folded stem gives the plaintext logits on ciphertexts (k = 4)", async () => {
  const [n, c, h, w, k] = [2, 3, 16, 16, 4];
  manualSeed(3);
  const key = await generateKey({ blockSize: k, seed: "block-resnet" });
  const p = Float32Array.from({ length: n * c * h * w }, (_, i) => ((i * 7919) % 997) / 997);
  const cipher = encrypt(p, { n, c, h, w, layout: "CHW" }, key);
  const net = new BlockResNet({ numClasses: 5, patchSize: k, widths: [16, 32], blocks: [1, 1] });
  net.eval();
  const stem = (net.getModule("prep") as any).getModule("0");
  const logits = (x: Float32Array) =>
    tidy(() => noGrad(() => net.forward(fromTypedArray(x, [n, c, h, w])).toFloat32Array()));
  const plainLogits = logits(p);
  // without the fold, the ciphertexts give other logits (so the comparison below can fail)
  assert.ok(relErr(logits(cipher), plainLogits) > 1e-2);
  // W'[o][ch][j] = Σ_i K⁻¹[ch][j][i] · W[o][ch][i]  (block vectors i, j = r·k + s)
  const kk = k * k;
  const inv = invertKey(key);
  const W = stem.weight.toFloat32Array();
  const out = stem.weight.shape[0];
  const W2 = new Float32Array(W.length);
  for (let o = 0; o < out; o++)
    for (let ch = 0; ch < c; ch++)
      for (let j = 0; j < kk; j++) {
        let s = 0;
        for (let i = 0; i < kk; i++) s += inv[ch * kk * kk + j * kk + i] * W[(o * c + ch) * kk + i];
        W2[(o * c + ch) * kk + j] = s;
      }
  noGrad(() => tidy(() => stem.weight.copy_(fromTypedArray(W2, stem.weight.shape))));
  const cipherLogits = logits(cipher);
  assert.ok(relErr(cipherLogits, plainLogits) < 1e-4, `rel err ${relErr(cipherLogits, plainLogits)}`);
  // inputs that do not tile into blocks are refused
  assert.throws(() => net.forward(fromTypedArray(cipher.subarray(0, c * 15 * 16), [1, c, 15, 16])), /multiple/);
  net.dispose();
});
