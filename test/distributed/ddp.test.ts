// DDP exactness: with SGD and no BatchNorm, 2 ranks × batch b (c10d Reducer averaging gradients in buckets during
// backward) reach the same parameters after K steps as 1 process × batch 2b on the same data order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort, lastJson, nodeRank, rankEnv } from "./helpers.ts";

function maxRelErr(a: number[][], b: number[][]): number {
  let num = 0;
  let den = 0;
  for (const [i, t] of a.entries())
    for (const [j, v] of t.entries()) {
      num = Math.max(num, Math.abs(v - b[i][j]));
      den = Math.max(den, Math.abs(b[i][j]));
    }
  return num / den;
}

describe("DistributedDataParallel", () => {
  const b = 8;
  const K = 6;
  // A bucket cap of 4 KB splits the MLP's 24 KB of gradients into several buckets, reduced while backward runs.
  for (const capMB of [0.004]) {
    it(`2 ranks × batch ${b} == 1 process × batch ${2 * b} after ${K} SGD steps (bucket cap ${capMB} MB)`, async () => {
      const port = await freePort();
      const args = [String(b), String(K), String(capMB)];
      const single = nodeRank("ddp-exact", { ERCNN_THREADS: "1", WORLD_SIZE: "" }, args);
      const r0 = nodeRank("ddp-exact", rankEnv(port, 0, 2), args);
      const r1 = nodeRank("ddp-exact", rankEnv(port, 1, 2), args);
      const [s, a, c] = await Promise.all([single.done, r0.done, r1.done]);
      for (const r of [s, a, c]) assert.equal(r.code, 0, r.stderr);
      const [ref, p0, p1] = [lastJson(s), lastJson(a), lastJson(c)];
      assert.ok(p0.buckets > 1, `expected several buckets, got ${p0.buckets}`);
      assert.deepEqual(p0.params, p1.params, "ranks disagree after the all-reduce");
      const err = maxRelErr(p0.params, ref.params);
      assert.ok(err <= 1e-5, `DDP vs single process: max relative difference ${err}`);
    });
  }
});
