// Energy-weighted block covariances (src/attack/energy-moments.ts): against a brute-force float64 loop, their exact
// key invariance (W_c = Mᵀ W_p M after whitening, for the same images), and the attack with them as extra relations.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BlockMoments, ENERGY_OFFSETS, EnergyMoments, psnr, statisticalAttack } from "../../src/attack/index.ts";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import {
  invert,
  matmulSquare,
  polarOrthogonal,
  symmetricEigen,
  symmetricFunction,
  transposeSquare,
} from "../../src/core/linalg.ts";
import { smoothImages } from "../audit/images.ts";

describe("EnergyMoments", () => {
  test("every relation matches a brute-force float64 loop (CHW and HWC)", () => {
    const [n, c, h, w, k] = [3, 2, 6, 8, 2];
    const x = Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 0.37) + ((i * 13) % 7) / 7);
    const dims = { n, c, h, w, layout: "CHW" as const };
    const first = new BlockMoments(k, c).add(x, dims);
    const e = new EnergyMoments(first).add(x, dims);
    const hwc = new Float32Array(x.length);
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++)
        for (let p = 0; p < h * w; p++) hwc[(i * h * w + p) * c + ch] = x[(i * c + ch) * h * w + p];
    const e2 = new EnergyMoments(first).add(hwc, { ...dims, layout: "HWC" });
    const [bh, bw, d] = [h / k, w / k, k * k];
    for (let ch = 0; ch < c; ch++) {
      // blocks centred on the first pass's mean; q = x Σ⁻¹ xᵀ with Σ the first pass's covariance
      const mu = first.mean(ch);
      const P = invert(first.covariance(ch, 0), d) as Float64Array;
      const block = (i: number, by: number, bx: number) => {
        const v: number[] = [];
        for (let r = 0; r < k; r++)
          for (let s = 0; s < k; s++) v.push(x[((i * c + ch) * h + by * k + r) * w + bx * k + s] - mu[v.length]);
        return v;
      };
      const logEnergy = (v: number[]) => {
        let q = 0;
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) q += v[a] * P[a * d + b] * v[b];
        return Math.log(q + 1e-3 * d);
      };
      for (const [rel, [dy, dx]] of ENERGY_OFFSETS.entries()) {
        const pairs: { g: number; v: number[] }[] = [];
        for (let i = 0; i < n; i++)
          for (let by = 0; by < bh; by++)
            for (let bx = 0; bx < bw; bx++) {
              const [ny, nx] = [by + dy, bx + dx];
              if (ny < 0 || ny >= bh || nx < 0 || nx >= bw) continue;
              pairs.push({ g: logEnergy(block(i, ny, nx)), v: block(i, by, bx) });
            }
        const gBar = pairs.reduce((a, p) => a + p.g, 0) / pairs.length;
        const got = e.covariance(ch, rel);
        const gotHwc = e2.covariance(ch, rel);
        for (let a = 0; a < d; a++)
          for (let b = 0; b < d; b++) {
            const want = pairs.reduce((s, p) => s + (p.g - gBar) * p.v[a] * p.v[b], 0) / pairs.length;
            assert.ok(
              Math.abs(got[a * d + b] - want) < 1e-9,
              `ch ${ch} rel ${rel} [${a},${b}]: ${got[a * d + b]} vs ${want}`,
            );
            assert.ok(Math.abs(gotHwc[a * d + b] - want) < 1e-9);
          }
      }
    }
    assert.throws(() => new EnergyMoments(first).add(x, { ...dims, c: 3 }), /EnergyMoments/);
  });

  test("the key leaves them alone: whitened, the ciphertext's equal Mᵀ·W·M of the plaintext's (same images)", async () => {
    const [c, size, k] = [1, 16, 4];
    const d = k * k;
    const dims = { n: 60, c, h: size, w: size, layout: "CHW" as const };
    const plain = smoothImages(60, c, size, 3);
    const key = await generateKey({ blockSize: k, channels: c, seed: "energy-invariance" });
    const cipher = encrypt(plain, dims, key);
    const pm = new BlockMoments(k, c).add(plain, dims);
    const cm = new BlockMoments(k, c).add(cipher, dims);
    const ep = new EnergyMoments(pm).add(plain, dims);
    const ec = new EnergyMoments(cm).add(cipher, dims);
    const pow = (S: Float64Array, a: number) => symmetricFunction(symmetricEigen(S, d), d, (l) => l ** a);
    const spSqrt = pow(pm.covariance(0, 0), 0.5);
    const spInv = pow(pm.covariance(0, 0), -0.5);
    const scInv = pow(cm.covariance(0, 0), -0.5);
    // v = u·M with M = Σ_p^{1/2} K Σ_c^{-1/2}, orthogonal up to rounding for the same images
    const M = matmulSquare(matmulSquare(spSqrt, key.values.subarray(0, d * d), d), scInv, d);
    const Mp = polarOrthogonal(M, d);
    const offOrthogonal = Math.max(...M.map((v, i) => Math.abs(v - Mp[i])));
    assert.ok(offOrthogonal < 1e-4, `M is off orthogonal by ${offOrthogonal} (float32 ciphertexts)`);
    const whiten = (A: Float64Array, W: Float64Array) => matmulSquare(matmulSquare(A, W, d), A, d);
    for (let rel = 0; rel < ENERGY_OFFSETS.length; rel++) {
      const Wp = whiten(spInv, ep.covariance(0, rel));
      const Wc = whiten(scInv, ec.covariance(0, rel));
      const mapped = matmulSquare(matmulSquare(transposeSquare(Mp, d), Wp, d), Mp, d);
      const mismatch = (A: Float64Array) => {
        let err = 0;
        let norm = 0;
        for (let i = 0; i < Wc.length; i++) {
          err += (Wc[i] - A[i]) ** 2;
          norm += Wc[i] ** 2;
        }
        assert.ok(norm > 1e-6, `relation ${rel} is not trivially zero`);
        return Math.sqrt(err / norm);
      };
      // exact up to the float32 rounding of the ciphertexts; without the key's rotation, far off
      assert.ok(mismatch(mapped) < 2e-4, `relation ${rel}: relative mismatch ${mismatch(mapped)}`);
      assert.ok(mismatch(Wp) > 0.1, `relation ${rel}: unrotated ${mismatch(Wp)}`);
    }
  });
});

describe("statisticalAttack with energy relations", () => {
  test("recovers a decryption from other images' statistics (k = 2), and refuses mismatched energy statistics", async () => {
    const [c, size, k] = [3, 16, 2];
    const dims = (n: number) => ({ n, c, h: size, w: size, layout: "CHW" as const });
    const reference = smoothImages(300, c, size, 1);
    const secret = smoothImages(300, c, size, 2);
    const key = await generateKey({ blockSize: k, seed: "energy-attack" });
    const cipher = encrypt(secret, dims(300), key);
    const cm = new BlockMoments(k, c).add(cipher, dims(300));
    const pm = new BlockMoments(k, c).add(reference, dims(300));
    const energy = {
      cipher: new EnergyMoments(cm).add(cipher, dims(300)),
      plain: new EnergyMoments(pm).add(reference, dims(300)),
    };
    const r = statisticalAttack(cm, pm, { restarts: 6, energy });
    const guess = encrypt(cipher, dims(300), { ...key, values: r.inverse }).map((v) => Math.min(1, Math.max(0, v)));
    const attackPsnr = psnr(guess, secret);
    assert.ok(attackPsnr > 28, `attack PSNR ${attackPsnr.toFixed(2)} dB`);
    // the relations are in the objective: its value at the estimate differs from the attack without them
    const plainOnly = statisticalAttack(cm, pm, { restarts: 6 });
    assert.notEqual(r.loss[0], plainOnly.loss[0]);
    const wrong = new EnergyMoments(new BlockMoments(4, c).add(reference, dims(300)));
    assert.throws(
      () => statisticalAttack(cm, pm, { energy: { cipher: wrong, plain: energy.plain } }),
      /energy\.cipher is k=4/,
    );
  });
});
