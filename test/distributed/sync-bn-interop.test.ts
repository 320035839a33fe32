// SyncBatchNorm against PyTorch: an ercnn rank (nn.SyncBatchNorm, its c10d autograd all-reduce) and a Debian
// python3-torch rank (the same computation with torch.distributed.nn.functional.all_reduce) form one Gloo group with
// unequal batches (3 and 5). Outputs, input gradients, running statistics, and the parameter gradients summed over
// the ranks must equal ordinary float64 F.batch_norm over the global batch (computed by PyTorch), on both sides.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { freePort, lastJson, rankEnv, root, run } from "./helpers.ts";

const python = "/usr/bin/python3";
const hasTorch =
  spawnSync(python, [
    "-c",
    "import torch.distributed.nn.functional, torch.distributed as d; assert d.is_gloo_available()",
  ]).status === 0;

function maxErr(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]) / Math.max(1, Math.abs(b[i]))));
}

describe("SyncBatchNorm interop with PyTorch", {
  skip: hasTorch ? false : "Debian python3-torch with gloo not installed",
}, () => {
  // One arrangement (ercnn rank 0 hosts the store); interop.test.ts already covers both hosts.
  for (const pyRank of [1]) {
    it(`python rank ${pyRank} + ercnn rank ${1 - pyRank}: both equal float64 BatchNorm over the global batch`, async () => {
      const port = await freePort();
      const py = run(python, [join(root, "test/distributed/sync_bn_rank.py")], rankEnv(port, pyRank, 2), 90_000);
      const js = run(
        process.execPath,
        ["--import", "tsx", join(root, "test/distributed/sync-bn-interop-rank.ts")],
        rankEnv(port, 1 - pyRank, 2),
        90_000,
      );
      const [a, b] = await Promise.all([py.done, js.done]);
      assert.equal(a.code, 0, `python rank failed:\n${a.stderr}`);
      assert.equal(b.code, 0, `ercnn rank failed:\n${b.stderr}`);
      const [p, e] = [lastJson(a), lastJson(b)];
      const ref = p.ref;
      assert.deepEqual([p.rank, e.rank], [pyRank, 1 - pyRank]);
      // The reference holds all 8 rows (rank 0's 3, then rank 1's 5), 18 values each.
      const rows = (v: number[], rank: number) => v.slice(rank === 0 ? 0 : 3 * 18, rank === 0 ? 3 * 18 : 8 * 18);
      for (const [name, v, want] of [
        ["python y", p.y, rows(ref.y, pyRank)],
        ["python grad x", p.gx, rows(ref.gx, pyRank)],
        ["ercnn y", e.y, rows(ref.y, 1 - pyRank)],
        ["ercnn grad x", e.gx, rows(ref.gx, 1 - pyRank)],
        ["python running mean", p.rm, ref.rm],
        ["python running var", p.rv, ref.rv],
        ["ercnn running mean", e.rm, ref.rm],
        ["ercnn running var", e.rv, ref.rv],
        ["grad weight summed over ranks", p.gw.map((v: number, i: number) => v + e.gw[i]), ref.gw],
        ["grad bias summed over ranks", p.gb.map((v: number, i: number) => v + e.gb[i]), ref.gb],
      ] as [string, number[], number[]][])
        assert.ok(maxErr(v, want) <= 1e-5, `${name}: ${maxErr(v, want)}`);
    });
  }
});
