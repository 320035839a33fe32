import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attackSignedPermutation } from "../../src/attack/signed-permutation.ts";
import { pixelShuffleNpParams } from "../../src/cipher/schemes/pixel-shuffle-np.ts";
import { encryptWith, generateSchemeKey } from "../../src/cipher/schemes/registry.ts";
import { naturalImage } from "../cipher/helpers.ts";

/**
 * Natural-like photos: smooth textured fields (helpers.ts naturalImage) gamma-encoded per channel as photos are
 * (darker than mid-grey on average, channels with their own statistics), on the 1/255 grid.
 */
function photos(n: number, size: number, seed: number): Float32Array {
  const gamma = [1.3, 1.6, 2.0];
  const out = new Float32Array(n * 3 * size * size);
  for (let i = 0; i < n; i++) {
    const x = naturalImage(size, size, seed + i, 3);
    for (let j = 0; j < x.length; j++) {
      const ch = Math.floor(j / (size * size));
      out[i * x.length + j] = Math.round(255 * x[j] ** gamma[ch]) / 255;
    }
  }
  return out;
}

describe("signed-permutation attack (pixel-shuffle-np)", () => {
  it("recovers k = 4 RGB keys exactly from 20 ciphertexts (32×32) and 200 public photos", async () => {
    // 10 ciphertexts already sufficed for these three keys, 5 did not (about half the coordinates right)
    const size = 32;
    const reference = photos(200, size, 5000);
    for (const seed of ["victim", "a", "b"]) {
      const key = await generateSchemeKey({ scheme: "pixel-shuffle-np", blockSize: 4, channels: 3, seed });
      const truth = pixelShuffleNpParams(key);
      const dims = { n: 20, c: 3, h: size, w: size, layout: "CHW" as const };
      const ciphertexts = encryptWith(photos(20, size, 1000), dims, key);
      const got = attackSignedPermutation({ ciphertexts, reference, c: 3, h: size, w: size, blockSize: 4 });
      let right = 0;
      for (let j = 0; j < 48; j++) right += got.perm[j] === truth.perm[j] && got.flip[j] === truth.flip[j] ? 1 : 0;
      assert.equal(right, 48, `key ${seed}: ${right} of 48 coordinates right (${got.swaps} swaps)`);
    }
  });
});
