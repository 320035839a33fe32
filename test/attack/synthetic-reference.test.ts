// The attack's synthetic reference: the spectra the fit compares are unchanged by the cipher (float64, exact), and
// the attack with a fitted dead-leaves reference, no plaintext of any kind, decrypts a known key's ciphertexts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BlockMoments, fitDeadLeaves, psnr, statisticalAttack } from "../../src/attack/index.ts";
import { jsLinalg } from "../../src/attack/linalg.ts";
import {
  cipherInvariants,
  cipherRangeScales,
  RANGE_QUANTILE,
  rangeScales,
  scaleEstimate,
} from "../../src/attack/synthetic-reference.ts";
import { encrypt, generateKey, inverseKey } from "../../src/cipher/index.ts";
import { DEAD_LEAVES_DEFAULT, SyntheticImages } from "../../src/data/synthetic-images.ts";

const images = (model: typeof DEAD_LEAVES_DEFAULT, n: number, size: number, seed: number) =>
  new SyntheticImages([3, size, size], n, model, seed)
    .images()
    .next()
    .value!.x.slice(0, n * 3 * size * size);

describe("synthetic reference", () => {
  test("the key-invariant spectra of ciphertexts equal their plaintexts' (float64)", async () => {
    const [n, size, k] = [60, 16, 2];
    const dims = { n, c: 3, h: size, w: size, layout: "CHW" as const };
    const plain = images(DEAD_LEAVES_DEFAULT, n, size, 5);
    const key = await generateKey({ blockSize: k, seed: "invariants" });
    const a = cipherInvariants(new BlockMoments(k, 3).add(plain, dims), jsLinalg);
    const b = cipherInvariants(new BlockMoments(k, 3).add(encrypt(plain, dims, key), dims), jsLinalg);
    assert.equal(a.length, 3 * 4 * 2 * 4 + 3 * 4);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `invariant ${i}: ${a[i]} vs ${b[i]}`);
    // and they do tell image models apart: discs only against the default's rectangles
    const discs = images({ ...DEAD_LEAVES_DEFAULT, rectangles: 0, blur: 1.2 }, n, size, 5);
    const c = cipherInvariants(new BlockMoments(k, 3).add(discs, dims), jsLinalg);
    const gap = a.reduce((s, v, i) => s + (v - c[i]) ** 2, 0);
    assert.ok(gap > 1e-2, `distance between models ${gap}`);
  });

  test("a fitted dead-leaves reference finds a known key's basin (k = 2), far above chance", async () => {
    const [n, size, k] = [256, 16, 2];
    const dims = { n, c: 3, h: size, w: size, layout: "CHW" as const };
    // the secret images: another model than the fit's start, another seed than the reference's
    const secretModel = { ...DEAD_LEAVES_DEFAULT, blur: 0.7, rectangles: 0.25, colourSpread: 0.02 };
    const secret = images(secretModel, n, size, 11);
    const key = await generateKey({ blockSize: k, seed: "synthetic-reference" });
    const cm = new BlockMoments(k, 3).add(encrypt(secret, dims, key), dims);
    const fit = fitDeadLeaves(cm, [3, size, size], jsLinalg, { images: 128 });
    assert.ok(fit.distance < fit.defaultDistance, `fit ${fit.distance} vs default ${fit.defaultDistance}`);
    const reference = images(fit.model, n, size, 1);
    const r = statisticalAttack(cm, new BlockMoments(k, 3).add(reference, dims), { restarts: 6, seed: 3 });
    const guess = encrypt(encrypt(secret, dims, key), dims, { ...key, values: r.inverse }).map((v) =>
      Math.min(1, Math.max(0, v)),
    );
    const attackPsnr = psnr(guess, secret);
    const mean = secret.reduce((a: number, v: number) => a + v, 0) / secret.length;
    const chance = psnr(new Float32Array(secret.length).fill(mean), secret);
    assert.ok(attackPsnr > 25, `attack PSNR ${attackPsnr.toFixed(2)} dB (chance ${chance.toFixed(2)} dB)`);
    assert.ok(attackPsnr > chance + 12, `attack ${attackPsnr.toFixed(2)} dB, chance ${chance.toFixed(2)} dB`);
  });

  test("range scales: the 99th percentile of each channel lands at 1 (hand-worked), and undo a contrast error", async () => {
    // 2 images, 2 channels, 100 pixels: channel 0 holds 0.02·(0…199), channel 1 0.5 + 0.01·(0…199); the 99th
    // percentile is the 199th value of 200 (index 198), not the largest
    const [n, c, plane] = [2, 2, 100];
    const d = new Float64Array(n * c * plane);
    for (let i = 0; i < n; i++)
      for (let p = 0; p < plane; p++) {
        d[(i * c + 0) * plane + p] = 0.02 * (i * plane + p);
        d[(i * c + 1) * plane + p] = 0.5 + 0.01 * (i * plane + p);
      }
    assert.equal(RANGE_QUANTILE, 0.99);
    const s = rangeScales(d, n, c, plane);
    assert.ok(Math.abs(s[0] - 1 / (0.02 * 198)) < 1e-12 && Math.abs(s[1] - 1 / 2.48) < 1e-12, `${s}`);
    // ciphertexts decrypted by 1.25 × the true K⁻¹ get the scale that cancels the 1.25 exactly
    const [m, size, k] = [40, 16, 2];
    const dims = { n: m, c: 3, h: size, w: size, layout: "CHW" as const };
    const plain = images(DEAD_LEAVES_DEFAULT, m, size, 9);
    const key = await generateKey({ blockSize: k, seed: "range" });
    const cipher = encrypt(plain, dims, key);
    const trueInverse = inverseKey(key);
    const right = cipherRangeScales(cipher, m, [3, size, size], trueInverse, k);
    const wrong = cipherRangeScales(
      cipher,
      m,
      [3, size, size],
      trueInverse.map((v) => 1.25 * v),
      k,
    );
    for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(wrong[ch] * 1.25 - right[ch]) < 1e-9);
    // the scaled estimate stays a key and its inverse
    const scaled = scaleEstimate({ key: key.values, inverse: trueInverse }, [0.5, 2, 4]);
    const n2 = k * k;
    for (let ch = 0; ch < 3; ch++)
      for (let i = 0; i < n2; i++)
        for (let j = 0; j < n2; j++) {
          let t = 0;
          for (let q = 0; q < n2; q++)
            t += scaled.key[ch * n2 * n2 + i * n2 + q] * scaled.inverse[ch * n2 * n2 + q * n2 + j];
          assert.ok(Math.abs(t - (i === j ? 1 : 0)) < 1e-9);
        }
  });
});
