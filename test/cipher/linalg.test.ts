// linearAssignment (the Hungarian method) against brute force over every permutation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { linearAssignment } from "../../src/core/linalg.ts";
import { mulberry32 } from "../../src/core/rng.ts";

const permutations = (n: number): number[][] =>
  n === 0
    ? [[]]
    : permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));

test("linearAssignment finds a minimum-cost perfect matching (brute force up to n = 6, ties and negatives)", () => {
  const rnd = mulberry32(11);
  for (let t = 0; t < 120; t++) {
    const n = 1 + (t % 6);
    // small integers: many ties; an offset makes some costs negative
    const cost = Array.from({ length: n * n }, () => Math.floor(rnd() * 9) - 3);
    const match = linearAssignment(cost, n);
    assert.equal(new Set(match).size, n, "a permutation");
    const total = (p: ArrayLike<number>) => Array.from(p).reduce((s, j, i) => s + cost[i * n + j], 0);
    const best = Math.min(...permutations(n).map(total));
    assert.equal(total(match), best, `n = ${n}, case ${t}`);
  }
});
