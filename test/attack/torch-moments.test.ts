// The attack's block statistics on libtorch (src/attack/torch-moments.ts) against the pure TypeScript accumulators of
// src/cipher (themselves checked against brute-force float64 loops in test/cipher): the same sums, batch by batch.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BlockMoments, ENERGY_OFFSETS, EnergyMoments, NEIGHBOUR_OFFSETS } from "../../src/attack/index.ts";
import { addBlockMoments, addEnergyMoments } from "../../src/attack/torch-moments.ts";
import { smoothImages } from "../audit/images.ts";
import { maxRelErr } from "../cipher/helpers.ts";

describe("torch block statistics", () => {
  // 3 batches of non-square images (4 × 6 blocks of 2×2, and 2 × 3 blocks of 4×4): edges in both directions
  const dims = { n: 4, c: 3, h: 8, w: 12, layout: "CHW" as const };
  /** 12×12 smooth test images cropped to their top 8 rows. */
  const cropped = (seed: number) => {
    const square = smoothImages(dims.n, dims.c, 12, seed);
    const out = new Float32Array(dims.n * dims.c * dims.h * dims.w);
    for (let plane = 0; plane < dims.n * dims.c; plane++)
      out.set(square.subarray(plane * 144, plane * 144 + dims.h * dims.w), plane * dims.h * dims.w);
    return out;
  };
  const batches = [1, 2, 3].map(cropped);

  for (const k of [2, 4]) {
    test(`k = ${k}: BlockMoments sums, covariances and cross-channel covariances match the JS loops`, () => {
      const js = new BlockMoments(k, 3);
      const torch = new BlockMoments(k, 3);
      for (const b of batches) {
        js.add(b, dims);
        addBlockMoments(torch, b, dims);
      }
      assert.deepEqual(torch.count, js.count);
      for (let ch = 0; ch < 3; ch++)
        for (let rel = 0; rel < NEIGHBOUR_OFFSETS.length; rel++) {
          assert.ok(maxRelErr(torch.sumAB[ch][rel], js.sumAB[ch][rel]) < 1e-12, `sumAB ch ${ch} rel ${rel}`);
          assert.ok(maxRelErr(torch.covariance(ch, rel), js.covariance(ch, rel)) < 1e-9, `cov ch ${ch} rel ${rel}`);
        }
      assert.ok(maxRelErr(torch.crossCovariance(0, 2), js.crossCovariance(0, 2)) < 1e-9);
      assert.ok(maxRelErr(torch.crossCovariance(1, 2), js.crossCovariance(1, 2)) < 1e-9);
    });

    test(`k = ${k}: EnergyMoments covariances of all nine relations match the JS loops`, () => {
      const first = new BlockMoments(k, 3);
      for (const b of batches) first.add(b, dims);
      const js = new EnergyMoments(first);
      const torch = new EnergyMoments(first);
      for (const b of batches) {
        js.add(b, dims);
        addEnergyMoments(torch, b, dims);
      }
      assert.deepEqual(torch.count, js.count);
      for (let ch = 0; ch < 3; ch++)
        for (let rel = 0; rel < ENERGY_OFFSETS.length; rel++) {
          assert.ok(Math.abs(js.sumG[ch][rel] - torch.sumG[ch][rel]) < 1e-9 * Math.abs(js.sumG[ch][rel]) + 1e-9);
          const d = maxRelErr(torch.covariance(ch, rel), js.covariance(ch, rel));
          assert.ok(d < 1e-9, `energy ch ${ch} rel ${rel}: ${d}`);
        }
    });
  }

  test("bad batches get clear errors", () => {
    const acc = new BlockMoments(4, 3);
    assert.throws(() => addBlockMoments(acc, batches[0], { ...dims, layout: "HWC" }), /only CHW/);
    assert.throws(() => addBlockMoments(acc, batches[0], { ...dims, c: 1 }), /1 channels, the statistics 3/);
    assert.throws(() => addBlockMoments(new BlockMoments(5, 3), batches[0], dims), /do not tile into 5×5/);
  });
});
