// The attack's reliability flag is a calibrated test (reliability.ts), k = 4: a good search on colour images sits
// well below the noise floor two halves of the reference allow, a fit in a wrong basin sits far above it, a starved
// search on the same data is flagged UNRELIABLE, and copies of one channel's fit never count as confirmations.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { descend } from "../../src/attack/descent.ts";
import { attackLinalg, BlockMoments, statisticalAttack } from "../../src/attack/index.ts";
import { keyFactor, whitenedProblem } from "../../src/attack/objective.ts";
import {
  FLOOR_RATIO,
  independentRoutes,
  noiseFloor,
  scaledFloor,
  secondOrderMismatch,
} from "../../src/attack/reliability.ts";
import { type CipherKey, encrypt, generateKey } from "../../src/cipher/index.ts";
import { haarOrthogonalFromGaussian } from "../../src/core/linalg.ts";
import { gaussians, smoothImages } from "../audit/images.ts";

const [k, c, size, count] = [4, 3, 32, 400];
const n = k * k;
const la = attackLinalg;
const dims = (m: number) => ({ n: m, c, h: size, w: size, layout: "CHW" as const });

let key: CipherKey;
let cipher: BlockMoments;
let plain: BlockMoments;
let halves: readonly [BlockMoments, BlockMoments];

before(async () => {
  const ref = smoothImages(count, c, size, 1);
  const per = c * size * size;
  halves = [
    new BlockMoments(k, c).add(ref.subarray(0, (count / 2) * per), dims(count / 2)),
    new BlockMoments(k, c).add(ref.subarray((count / 2) * per), dims(count / 2)),
  ];
  plain = new BlockMoments(k, c).merge(halves[0]).merge(halves[1]);
  key = await generateKey({ blockSize: k, seed: "reliability" });
  cipher = new BlockMoments(k, c).add(encrypt(smoothImages(count, c, size, 2), dims(count), key), dims(count));
});

describe("calibrated reliability (k = 4)", () => {
  test("merged halves are the whole reference's statistics", () => {
    const whole = new BlockMoments(k, c).add(smoothImages(count, c, size, 1), dims(count));
    for (const rel of [0, 2])
      assert.ok(
        whole.covariance(1, rel).every((v, i) => Math.abs(v - plain.covariance(1, rel)[i]) < 1e-12),
        `relation ${rel}`,
      );
  });

  test("a good search is reliable, well under the floor; a starved one on the same data is UNRELIABLE", () => {
    // a shorter search than ATTACK_DEFAULTS (12 starts of 1,500 evaluations) keeps the test quick; it converges here
    const good = statisticalAttack(cipher, plain, { restarts: 4, iterations: 400, plainHalves: halves, linalg: la });
    for (const [ch, q] of good.channelReports.entries()) {
      assert.ok(q.reliable, `channel ${ch}: ${q.problems.join("; ")}`);
      // measured: 0.61–0.81 of the floor
      assert.ok(q.secondOrderMismatch < (FLOOR_RATIO / 3) * q.noiseFloor!, `channel ${ch} ${q.secondOrderMismatch}`);
    }
    const starved = statisticalAttack(cipher, plain, {
      restarts: 1,
      iterations: 40,
      retries: 0,
      plainHalves: halves,
      linalg: la,
    });
    assert.equal(starved.reliable, false);
    assert.ok(starved.channelReports.every((q) => !q.reliable));
  });

  test("a fit in a wrong basin is far above the floor; fits in the key's basin far below", () => {
    const floor = noiseFloor(halves, la);
    const p = whitenedProblem(cipher, plain, 0, la);
    const f = scaledFloor(floor, 0, cipher.count[0][0], plain.count[0][0]);
    const atKey = secondOrderMismatch(p, keyFactor(p, key.values.slice(0, n * n), n, la), n, la) / f;
    // sampling noise alone puts the key itself at about the floor (measured 0.96)
    assert.ok(atKey > 0.5 && atKey < 2, `the key at ${atKey.toFixed(2)} × the floor`);
    const ratios = [104, 101, 107].map((seed) => {
      const M = descend(p, n, haarOrthogonalFromGaussian(gaussians(n * n, seed), n), 1500, la).M;
      return secondOrderMismatch(p, M, n, la) / f;
    });
    // measured: seeds 104 and 107 descend into a wrong basin (12.0×), 101 into the key's (0.60×)
    assert.ok(ratios[0] > 2 * FLOOR_RATIO && ratios[2] > 2 * FLOOR_RATIO, `wrong basins at ${ratios}`);
    assert.ok(ratios[1] < FLOOR_RATIO / 3, `the key's basin at ${ratios[1]}`);
  });

  test("independent routes: a fit carried from another channel, or carried back, is the same route", () => {
    // channels 1 and 2 took channel 0's fit; none of their own starts came near it
    const solvedBy = ["search", { fromChannel: 0, how: "coupling" }, { fromChannel: 0, how: "coupling" }] as const;
    const none = [true, false, false];
    // channel 0: its one start; 1 and 2 agree, but only by holding channel 0's own fit
    assert.deepEqual(independentRoutes(0, 1, [1, 2], solvedBy, none), { routes: 1, channels: 0 });
    // channel 1: channel 0's fit (one route); channel 2's agreement is that fit again
    assert.deepEqual(independentRoutes(1, 0, [0, 2], solvedBy, none), { routes: 1, channels: 0 });
    // once channel 2's own search reaches its fit, it confirms channels 0 and 1
    const reached = [true, false, true];
    assert.deepEqual(independentRoutes(0, 1, [1, 2], solvedBy, reached), { routes: 2, channels: 1 });
    assert.deepEqual(independentRoutes(1, 0, [0, 2], solvedBy, reached), { routes: 2, channels: 1 });
  });
});
