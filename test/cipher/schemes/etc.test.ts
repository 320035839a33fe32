import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyEtc, dihedralMap, type EtcParams, etcParams } from "../../../src/cipher/schemes/etc.ts";
import { generateSchemeKey } from "../../../src/cipher/schemes/registry.ts";

describe("etc (Kiya et al.'s EtC)", () => {
  it("the rotation map turns [[1,2],[3,4]] clockwise and the flip mirrors it", () => {
    const block = [1, 2, 3, 4];
    const apply = (m: Int32Array) => [...m].map((i) => block[i]);
    assert.deepEqual(apply(dihedralMap(2, 1, false)), [3, 1, 4, 2]);
    assert.deepEqual(apply(dihedralMap(2, 2, false)), [4, 3, 2, 1]);
    assert.deepEqual(apply(dihedralMap(2, 0, true)), [2, 1, 4, 3]);
    const eight = new Set(Array.from({ length: 8 }, (_, t) => apply(dihedralMap(3, t & 3, t >= 4)).join()));
    assert.equal(eight.size, 8);
  });

  it("two 2×2 blocks with a key written out by hand", () => {
    // A = [[1,2],[3,4]] at position 0, B = [[5,6],[7,8]] at position 1; perm = [1, 0] swaps them;
    // position 0 (B): rotate clockwise, negative → [[7,5],[8,6]] → [[248,250],[247,249]];
    // position 1 (A): flipped left–right → [[2,1],[4,3]]
    const p: EtcParams = {
      blockSize: 2,
      channels: 1,
      gh: 1,
      gw: 2,
      perm: Int32Array.from([1, 0]),
      blocks: [
        { rotate: 1, flip: false, negative: true, colours: Int32Array.from([0]) },
        { rotate: 0, flip: true, negative: false, colours: Int32Array.from([0]) },
      ],
    };
    const dims = { c: 1, h: 2, w: 4, layout: "CHW" as const };
    const x = Uint8Array.from([1, 2, 5, 6, 3, 4, 7, 8]);
    const c = applyEtc(p, x, dims, "encrypt");
    assert.deepEqual([...c], [248, 250, 2, 1, 247, 249, 4, 3]);
    assert.deepEqual([...applyEtc(p, c, dims, "decrypt")], [...x]);
  });

  it("colour-component shuffling of one RGB pixel", () => {
    const p: EtcParams = {
      blockSize: 1,
      channels: 3,
      gh: 1,
      gw: 1,
      perm: Int32Array.from([0]),
      blocks: [{ rotate: 0, flip: false, negative: false, colours: Int32Array.from([1, 2, 0]) }],
    };
    const c = applyEtc(p, Uint8Array.from([10, 20, 30]), { c: 3, h: 1, w: 1, layout: "HWC" }, "encrypt");
    assert.deepEqual([...c], [20, 30, 10]);
  });

  it("derives independent keys per grid from one seed", async () => {
    const key = await generateSchemeKey({ scheme: "etc", blockSize: 4, channels: 3, seed: "etc-grid" });
    const a = etcParams(key, 8, 8);
    const b = etcParams(key, 4, 8);
    assert.equal(a.perm.length, 64);
    assert.equal(b.perm.length, 32);
    assert.deepEqual(etcParams(key, 8, 8), a);
    const kinds = new Set(a.blocks.map((x) => `${x.rotate}${x.flip}${x.negative}`));
    assert.ok(kinds.size >= 10, `per-block keys vary: ${kinds.size} of 16 kinds`);
  });
});
