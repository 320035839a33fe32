import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applyBlockwise64,
  evaluateRecoveredKey,
  psnr,
  RankDeficientError,
  recoverKey,
  relativeError,
} from "../../src/attack/index.ts";
import { encrypt, generateKey, type ImageDims } from "../../src/cipher/index.ts";
import { chwToHwc, naturalImage } from "../cipher/helpers.ts";

describe("known-plaintext attack", () => {
  it("one natural 32×32 image, k=4: key to < 1e-6 (float64 pipeline); fresh image decrypts at high PSNR", async () => {
    const key = await generateKey({ blockSize: 4, seed: "victim-32" });
    const dims: ImageDims = { c: 3, h: 32, w: 32, layout: "CHW" };
    const plain = Float64Array.from(naturalImage(32, 32, 1));
    const cipher = applyBlockwise64(plain, dims, key.values, 4);
    const rec = recoverKey(plain, cipher, dims, 4);
    assert.deepEqual(rec.rank, [16, 16, 16]);
    assert.equal(rec.blocksUsed, 64);
    const err = relativeError(rec.values, key.values);
    assert.ok(err < 1e-6, `key rel err ${err}`);
    const ev = evaluateRecoveredKey(rec.values, key, naturalImage(32, 32, 2), dims);
    assert.ok(ev.psnr > 100, `PSNR ${ev.psnr}`);
    for (const r of rec.residual) assert.ok(r < 1e-12);
  });

  it("one natural 224×224 image, k=8 (HWC)", async () => {
    const key = await generateKey({ blockSize: 8, seed: "victim-224" });
    const dims: ImageDims = { c: 3, h: 224, w: 224, layout: "HWC" };
    const plain = Float64Array.from(chwToHwc(naturalImage(224, 224, 3), 1, 3, 224, 224));
    const cipher = applyBlockwise64(plain, dims, key.values, 8);
    const rec = recoverKey(plain, cipher, dims, 8);
    assert.deepEqual(rec.rank, [64, 64, 64]);
    assert.ok(relativeError(rec.values, key.values) < 1e-6);
    const fresh = chwToHwc(naturalImage(224, 224, 4), 1, 3, 224, 224);
    assert.ok(evaluateRecoveredKey(rec.values, key, fresh, dims).psnr > 100);
  });

  it("float32 ciphertexts from encrypt() still give a usable key", async () => {
    const key = await generateKey({ blockSize: 4, seed: "victim-f32" });
    const dims: ImageDims = { c: 3, h: 32, w: 32, layout: "CHW" };
    const plain = naturalImage(32, 32, 5);
    const rec = recoverKey(plain, encrypt(plain, dims, key), dims, 4);
    assert.ok(relativeError(rec.values, key.values) < 1e-2);
    assert.ok(evaluateRecoveredKey(rec.values, key, naturalImage(32, 32, 6), dims).psnr > 40);
  });

  it("fails loudly on a flat image (rank 1) and says how many more blocks are needed", async () => {
    const key = await generateKey({ blockSize: 4, seed: "flat" });
    const dims: ImageDims = { c: 3, h: 32, w: 32, layout: "CHW" };
    const plain = new Float64Array(3 * 32 * 32).fill(0.5);
    const cipher = applyBlockwise64(plain, dims, key.values, 4);
    assert.throws(
      () => recoverKey(plain, cipher, dims, 4),
      (e: Error) => {
        assert.ok(e instanceof RankDeficientError);
        assert.equal(e.rank, 1);
        assert.equal(e.needed, 15);
        assert.equal(e.channel, 0);
        assert.match(e.message, /rank 1 < k² = 16/);
        assert.match(e.message, /at least 15 more linearly independent blocks needed/);
        return true;
      },
    );
  });

  it("fails loudly with too few blocks", async () => {
    const key = await generateKey({ blockSize: 4, seed: "few" });
    const dims: ImageDims = { c: 3, h: 8, w: 8, layout: "CHW" }; // 4 blocks for 16 unknowns
    const plain = Float64Array.from(naturalImage(8, 8, 7));
    const cipher = applyBlockwise64(plain, dims, key.values, 4);
    assert.throws(() => recoverKey(plain, cipher, dims, 4), /only 4 blocks for 16 unknowns.*at least 12 more/);
  });

  it("psnr", () => {
    assert.equal(psnr([1, 2], [1, 2]), Number.POSITIVE_INFINITY);
    assert.ok(Math.abs(psnr([0, 0], [0.1, 0.1]) - 20) < 1e-12);
    assert.ok(Math.abs(psnr([0], [25.5], 255) - 20) < 1e-12);
  });
});
