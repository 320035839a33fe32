// SyncBatchNorm exactness: 2 ranks × batch b with SyncBatchNorm (DDP, BatchNorm in train mode) reach the same
// parameters AND running statistics after K SGD steps as 1 process × batch 2b with ordinary BatchNorm; DDP's default
// (per-rank statistics) does not. The statistics' differentiable all-reduces share the group with the Reducer's
// bucket all-reduces (several buckets here), so this also checks that the two interleave correctly.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { freePort, lastJson, rankEnv, root, run } from "./helpers.ts";

const script = join(root, "test/distributed/sync-bn-rank.ts");
const proc = (env: NodeJS.ProcessEnv, args: string[]) =>
  run(process.execPath, ["--import", "tsx", script, ...args], env);

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

describe("SyncBatchNorm under DistributedDataParallel", () => {
  const b = 6;
  const K = 5;
  it(`2 ranks × batch ${b} (sync BN) == 1 process × batch ${2 * b} (BN) after ${K} SGD steps; per-rank BN differs`, async (t) => {
    const args = (mode: string) => [String(b), String(K), mode];
    const [p1, p2] = [await freePort(), await freePort()];
    const single = proc({ ERCNN_THREADS: "1", WORLD_SIZE: "" }, args("plain"));
    const ranks = [0, 1].map((r) => proc(rankEnv(p1, r, 2), args("sync")));
    const plain = [0, 1].map((r) => proc(rankEnv(p2, r, 2), args("plain")));
    const results = await Promise.all([single.done, ...ranks.map((r) => r.done), ...plain.map((r) => r.done)]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const [ref, s0, s1, q0] = results.map(lastJson);
    assert.equal(s0.synced, 2, "convertSyncBatchnorm should have replaced both BatchNorm2d (a field and a child)");
    assert.equal(q0.synced, 0);
    assert.ok(s0.buckets > 1, `expected several buckets, got ${s0.buckets}`);
    assert.deepEqual(s0.params, s1.params, "ranks disagree on parameters");
    assert.deepEqual(s0.buffers, s1.buffers, "ranks disagree on running statistics");
    const errP = maxRelErr(s0.params, ref.params);
    const errB = maxRelErr(s0.buffers, ref.buffers);
    assert.ok(errP <= 1e-5, `sync BN vs single process: parameters differ by ${errP} (relative)`);
    assert.ok(errB <= 1e-5, `sync BN vs single process: running statistics differ by ${errB} (relative)`);
    const errPlainP = maxRelErr(q0.params, ref.params);
    const errPlainB = maxRelErr(q0.buffers, ref.buffers);
    t.diagnostic(
      `sync BN: params ${errP}, running stats ${errB}; per-rank BN: params ${errPlainP}, stats ${errPlainB}`,
    );
    assert.ok(errPlainP > 1e-3, `per-rank BN should differ from the global batch's, got ${errPlainP}`);
    assert.ok(errPlainB > 1e-3, `per-rank running statistics should differ, got ${errPlainB}`);
  });
});
