import assert from "node:assert/strict";
import { test } from "node:test";
import { permutation } from "../../src/data/rng.ts";
import { classSubset, disjointClassSplit, stratifiedSplit } from "../../src/data/splits.ts";

test("stratified split keeps class proportions, is seeded and disjoint", () => {
  const labels = Array.from({ length: 1000 }, (_, i) => i % 10);
  const a = stratifiedSplit(labels, 0.1, 7);
  const b = stratifiedSplit(labels, 0.1, 7);
  const c = stratifiedSplit(labels, 0.1, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.val, c.val);
  assert.equal(a.val.length, 100);
  assert.equal(a.train.length, 900);
  const seen = new Set([...a.train, ...a.val]);
  assert.equal(seen.size, 1000);
  for (let k = 0; k < 10; k++) assert.equal([...a.val].filter((i) => labels[i] === k).length, 10);
});

test("class subset and disjoint class split", () => {
  const labels = [0, 1, 2, 0, 1, 2];
  assert.deepEqual([...classSubset(labels, [2, 0])], [0, 2, 3, 5]);
  const classes = Array.from({ length: 200 }, (_, i) => `n${String(i).padStart(3, "0")}`);
  const s = disjointClassSplit(classes, 50, "tiny50");
  assert.equal(s.encrypted.length, 50);
  assert.equal(s.pretrain.length, 150);
  assert.equal(new Set([...s.encrypted, ...s.pretrain]).size, 200);
  assert.deepEqual(disjointClassSplit(classes, 50, "tiny50"), s);
  assert.throws(() => disjointClassSplit(classes, 200), /leave some/);
});

test("permutation is a seeded permutation", () => {
  const p = permutation(100, 3);
  assert.deepEqual(
    [...p].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.deepEqual(permutation(100, 3), p);
  assert.notDeepEqual(permutation(100, 4), p);
});
