// ATTACK_DEFAULTS: one row per range of block sizes, picked by k, each with its reason; the help line a flag shows is
// rendered from it (merged runs of equal values), and the attack takes exactly these values when not told otherwise.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ATTACK_DEFAULTS,
  attackDefaults,
  attackDefaultsHelp,
  BlockMoments,
  statisticalAttack,
} from "../../src/attack/index.ts";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import { smoothImages } from "../audit/images.ts";

describe("ATTACK_DEFAULTS", () => {
  test("rows ascend by block size, each with a reason; k picks the last row that starts at or below it", () => {
    for (const [i, row] of ATTACK_DEFAULTS.entries()) {
      assert.ok(row.reason.length > 20, `row ${i} has a reason`);
      if (i > 0) assert.ok(row.fromBlockSize > ATTACK_DEFAULTS[i - 1].fromBlockSize);
    }
    assert.equal(attackDefaults(2).restarts, 12);
    assert.equal(attackDefaults(4).iterations, 1500);
    assert.deepEqual([attackDefaults(7).joint, attackDefaults(7).energy], [true, false]);
    assert.deepEqual([attackDefaults(8).joint, attackDefaults(8).energy], [true, true]);
    assert.equal(attackDefaults(12).restarts, 4);
    assert.deepEqual([attackDefaults(16).restarts, attackDefaults(32).iterations], [2, 200]);
    assert.throws(() => attackDefaults(0), /bad block size 0/);
  });

  test("help text merges equal neighbours and names every range", () => {
    assert.equal(
      attackDefaultsHelp("restarts"),
      "12 for k ≤ 4, 8 for k = 5–7, 32 for k = 8, 4 for k = 9–15, 2 for k ≥ 16",
    );
    assert.equal(attackDefaultsHelp("energy"), "off for k ≤ 7, on for k ≥ 8");
  });

  test("the attack runs the row's starts when not told otherwise (k = 2: 12 per channel)", async () => {
    const [n, c, size, k] = [60, 1, 8, 2];
    const dims = { n, c, h: size, w: size, layout: "CHW" as const };
    const key = await generateKey({ blockSize: k, channels: c, seed: "defaults" });
    const r = statisticalAttack(
      new BlockMoments(k, c).add(encrypt(smoothImages(n, c, size, 2), dims, key), dims),
      new BlockMoments(k, c).add(smoothImages(n, c, size, 1), dims),
      { iterations: 30, retries: 0 },
    );
    assert.equal(r.channelReports[0].starts, attackDefaults(k).restarts);
  });
});
