// The eavesdropper's jigsaw against block scrambling: from ciphertexts alone (no key), it recovers the secret
// permutation of block positions up to a grid symmetry, on smooth synthetic photos; and the symmetry bookkeeping
// is right (checked by hand on a 2×2 grid).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gridSymmetries, JigsawTooLarge, orientLike, solveBlockJigsaw } from "../../src/attack/jigsaw.ts";
import { blockPermutation, encrypt, generateKey } from "../../src/cipher/index.ts";
import { smoothImages } from "../audit/images.ts";

describe("block jigsaw", () => {
  test("recovers a scrambling key's permutation from 200 ciphertexts of smooth photos", async () => {
    const [n, c, size, k] = [200, 3, 24, 4];
    const key = await generateKey({ blockSize: k, channels: c, seed: "jigsaw-test", scramble: true });
    assert.ok(key.scramble);
    const x = smoothImages(n, c, size, 5);
    const y = encrypt(x, { n, c, h: size, w: size, layout: "CHW" }, key);
    const r = solveBlockJigsaw(y, { n, c, h: size, w: size }, k);
    const truth = blockPermutation(key.scramble, size / k, size / k);
    const o = orientLike(r.permutation, truth, { gh: size / k, gw: size / k });
    assert.equal(r.assembled, 1);
    assert.ok(o.correct >= 0.9, `${(100 * o.correct).toFixed(0)}% of 36 positions right`);
    // with no scrambling the same solver finds the identity (up to a symmetry)
    const plainKey = await generateKey({ blockSize: k, channels: c, seed: "jigsaw-test" });
    const z = encrypt(x, { n, c, h: size, w: size, layout: "CHW" }, plainKey);
    const id = Int32Array.from({ length: 36 }, (_, i) => i);
    const p = orientLike(solveBlockJigsaw(z, { n, c, h: size, w: size }, k).permutation, id, { gh: 6, gw: 6 });
    assert.ok(p.correct >= 0.9, `${(100 * p.correct).toFixed(0)}% of 36 positions right without scrambling`);
  });

  test("refuses a grid too large for its memory bound, with a clear error (the audit then says it did not run)", () => {
    assert.throws(
      () => solveBlockJigsaw(new Float32Array(0), { n: 1, c: 3, h: 224, w: 224 }, 8),
      (e: Error) => e instanceof JigsawTooLarge && /28×28 grid of 8×8 blocks/.test(e.message),
    );
  });

  test("grid symmetries and orientation, by hand on a 2×2 grid", () => {
    const syms = gridSymmetries({ gh: 2, gw: 2 });
    assert.equal(syms.length, 8);
    assert.deepEqual([...syms[0]], [0, 1, 2, 3]);
    assert.deepEqual([...syms[1]], [1, 0, 3, 2]); // left-right mirror
    assert.deepEqual([...syms[4]], [0, 2, 1, 3]); // transpose
    assert.equal(gridSymmetries({ gh: 2, gw: 3 }).length, 4);
    // an estimate that is the truth mirrored left-right is oriented back exactly
    const truth = Int32Array.from([3, 0, 2, 1]);
    const mirrored = Int32Array.from(truth, (cell) => syms[1][cell]);
    const o = orientLike(mirrored, truth, { gh: 2, gw: 2 });
    assert.equal(o.correct, 1);
    assert.deepEqual([...o.permutation], [...truth]);
    // swapping two cells is no symmetry: the best one (the identity) leaves half the positions right
    assert.equal(
      orientLike(Int32Array.from([0, 1, 2, 3]), Int32Array.from([0, 1, 3, 2]), { gh: 2, gw: 2 }).correct,
      0.5,
    );
  });
});
