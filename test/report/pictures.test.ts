import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import { writeFileAtomic } from "../../src/core/atomic.ts";
import { decryptionPicture, minMaxScale, panelImages } from "../../src/report/pictures.ts";

function gradientImage(c: number, h: number, w: number, phase: number): Float32Array {
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[(ch * h + y) * w + x] = 0.5 + 0.45 * Math.sin((x + 2 * y) / (4 + ch) + phase);
      }
    }
  }
  return out;
}

async function rawPixels(png: Buffer) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  return { info, at };
}

describe("decryptionPicture", () => {
  it("lays out ciphertext | adaptation output | plaintext, ×4 for 32×32, with a gutter", async () => {
    const dims = { c: 3, h: 32, w: 32 };
    const key = await generateKey({ blockSize: 4, seed: 3 });
    const rows = [0, 1].map((i) => {
      const plain = gradientImage(3, 32, 32, i);
      const cipher = encrypt(plain, { ...dims, layout: "CHW" }, key);
      const adapt = plain.map((v) => -2 * v + 0.7); // arbitrary affine scale: the fit undoes it
      return { cipher, adapt, plain };
    });
    const png = await decryptionPicture(rows, dims, { titles: false, gutter: 4 });
    const { info, at } = await rawPixels(png);
    assert.equal(info.width, 4 + 3 * (128 + 4));
    assert.equal(info.height, 4 + 2 * (128 + 4));
    assert.deepEqual(at(0, 0), [255, 255, 255]); // gutter
    // the adaptation panel equals the plaintext panel (affine fit), pixel for pixel (sample a few)
    for (const [x, y] of [
      [0, 0],
      [17, 5],
      [127, 127],
    ]) {
      const row2y = 4 + 128 + 4 + y;
      assert.deepEqual(at(4 + 132 + x, row2y), at(4 + 264 + x, row2y));
      const p = rows[1].plain;
      const sx = Math.floor(x / 4);
      const sy = Math.floor(y / 4);
      assert.deepEqual(
        at(4 + 264 + x, row2y),
        [0, 1, 2].map((ch) => Math.round(p[ch * 1024 + sy * 32 + sx] * 255)),
      );
    }
    // nearest-neighbour upscale: a 4×4 output block is constant
    assert.deepEqual(at(4 + 264 + 8, 4 + 8), at(4 + 264 + 11, 4 + 11));
    const dir = mkdtempSync(join(tmpdir(), "ercnn-pic-"));
    try {
      const titled = await decryptionPicture(rows, dims, { titles: true });
      await writeFileAtomic(join(dir, "final.png"), titled);
      const meta = await sharp(readFileSync(join(dir, "final.png"))).metadata();
      assert.equal(meta.format, "png");
      assert.ok(meta.height! > info.height, "title band added");
      if (process.env.ERCNN_SAVE_PICTURE) await writeFileAtomic(process.env.ERCNN_SAVE_PICTURE, titled);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("min-max scales the ciphertext, un-normalises, drops a missing plaintext column", async () => {
    assert.deepEqual([...minMaxScale([-4, 0, 4])], [0, 0.5, 1]);
    assert.deepEqual([...minMaxScale([3, 3])], [0.5, 0.5]);
    const dims = { c: 1, h: 2, w: 2 };
    const mean = [0.5];
    const std = [0.25];
    // plaintext normalised too: un-normalised back to [0,1]
    const p = panelImages({ cipher: [-10, 0, 10, 20], adapt: [0, 1, 2, 3], plain: [-2, 0, 2, 0] }, dims, {
      mean,
      std,
      normalized: { plain: true },
    });
    assert.deepEqual([...p.cipher!], [...Float32Array.of(0, 1 / 3, 2 / 3, 1)]);
    assert.deepEqual([...p.plain!], [0, 0.5, 1, 0.5]);
    // without plaintext the adaptation output is min-max scaled
    const q = panelImages({ cipher: [1, 2, 3, 4], adapt: [-1, 0, 1, 3] }, dims);
    assert.deepEqual([...q.adapt!], [0, 0.25, 0.5, 1]);
    assert.equal(q.plain, null);
    const png = await decryptionPicture([{ cipher: [1, 2, 3, 4], adapt: [-1, 0, 1, 3] }], dims, {
      scale: 3,
      gutter: 1,
    });
    const { info, at } = await rawPixels(png);
    assert.equal(info.width, 1 + 2 * (6 + 1)); // two columns only
    assert.deepEqual(at(1, 1), [0, 0, 0]); // grey 1-channel cipher min
    assert.deepEqual(at(1 + 6 + 1 + 5, 1 + 5), [255, 255, 255]); // adapt max
    await assert.rejects(decryptionPicture([{ cipher: [1, 2, 3] }], dims), /expected c·h·w = 4/);
  });
});
