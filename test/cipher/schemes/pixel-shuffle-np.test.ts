import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applySignedPermutation,
  pixelShuffleNpParams,
  type SignedPermutation,
} from "../../../src/cipher/schemes/pixel-shuffle-np.ts";
import { generateSchemeKey } from "../../../src/cipher/schemes/registry.ts";

const sp = (blockSize: number, channels: number, perm: number[], flip: number[]): SignedPermutation => ({
  blockSize,
  channels,
  perm: Int32Array.from(perm),
  flip: Uint8Array.from(flip),
});

describe("pixel-shuffle-np", () => {
  it("a 2×2 grey block with a key written out by hand", () => {
    // block vector [10, 20, 30, 40]; c[j] = flip[j] ? 255 − v[perm[j]] : v[perm[j]]
    const key = sp(2, 1, [2, 0, 3, 1], [0, 1, 0, 0]);
    const x = Uint8Array.from([10, 20, 30, 40]);
    const dims = { c: 1, h: 2, w: 2, layout: "CHW" as const };
    const c = applySignedPermutation(key, x, dims, "encrypt");
    assert.deepEqual([...c], [30, 245, 40, 20]);
    assert.deepEqual([...applySignedPermutation(key, c, dims, "decrypt")], [10, 20, 30, 40]);
    // the same on float32: 1 − x
    const f = applySignedPermutation(key, Float32Array.from([0.25, 0.5, 0.75, 1]), dims, "encrypt");
    assert.deepEqual([...f], [0.75, 0.75, 1, 0.5]);
  });

  it("colour shuffling and negative–positive on one RGB pixel, in CHW and HWC", () => {
    const key = sp(1, 3, [2, 0, 1], [1, 0, 0]);
    const hwc = applySignedPermutation(
      key,
      Uint8Array.from([10, 100, 200]),
      { c: 3, h: 1, w: 1, layout: "HWC" },
      "encrypt",
    );
    assert.deepEqual([...hwc], [55, 10, 100]);
    // a 1×2 image with two pixels, CHW planes R=[10,1] G=[100,2] B=[200,3]
    const chw = applySignedPermutation(
      key,
      Uint8Array.from([10, 1, 100, 2, 200, 3]),
      { c: 3, h: 1, w: 2, layout: "CHW" },
      "encrypt",
    );
    assert.deepEqual([...chw], [55, 252, 10, 1, 100, 2]);
  });

  it("a seeded key is a pixel permutation × a colour permutation, with its own NP bits", async () => {
    const key = await generateSchemeKey({ scheme: "pixel-shuffle-np", blockSize: 4, channels: 3, seed: "psnp" });
    const p = pixelShuffleNpParams(key);
    assert.equal(p.perm.length, 48);
    assert.deepEqual(
      [...p.perm].sort((a, b) => a - b),
      Array.from({ length: 48 }, (_, i) => i),
    );
    for (let pos = 0; pos < 16; pos++) {
      const src = Math.floor(p.perm[pos * 3] / 3);
      for (let ch = 0; ch < 3; ch++) {
        assert.equal(Math.floor(p.perm[pos * 3 + ch] / 3), src, "a pixel's channels move together");
        assert.equal(p.perm[pos * 3 + ch] % 3, p.perm[ch] % 3, "the same colour order in every pixel");
      }
    }
    const ones = p.flip.reduce((s, b) => s + b, 0);
    assert.ok(ones > 10 && ones < 38, `NP bits: ${ones} of 48 set`);
    const again = pixelShuffleNpParams(
      await generateSchemeKey({ scheme: "pixel-shuffle-np", blockSize: 4, seed: "psnp" }),
    );
    assert.deepEqual(again, p);
  });
});
