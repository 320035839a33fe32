// The attack's objective (objective.ts): its gradient at any n×n M matches central finite differences of its value,
// the independent check the descent relies on.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { objectiveAndGradient } from "../../src/attack/objective.ts";

const n = 4;

describe("the attack's objective", () => {
  test("gradient matches central finite differences (any M)", () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648 - 0.5;
    };
    const mat = () => Float64Array.from({ length: n * n }, rnd);
    const s = {
      Lp: [mat(), mat(), mat()],
      Lc: [mat(), mat(), mat()],
      mp: Float64Array.from({ length: n }, rnd),
      mc: Float64Array.from({ length: n }, rnd),
    };
    const M = mat();
    const { gradient } = objectiveAndGradient(M, s, n);
    const h = 1e-6;
    for (let t = 0; t < n * n; t++) {
      const up = M.slice();
      const down = M.slice();
      up[t] += h;
      down[t] -= h;
      const fd = (objectiveAndGradient(up, s, n).value - objectiveAndGradient(down, s, n).value) / (2 * h);
      assert.ok(Math.abs(fd - gradient[t]) < 1e-6 * (1 + Math.abs(fd)), `[${t}] ${gradient[t]} vs ${fd}`);
    }
  });
});
