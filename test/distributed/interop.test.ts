// The proof that this is c10d on the wire: an ercnn rank and a Debian python3-torch rank (init_process_group("gloo",
// init_method="env://")) form one group and all-reduce, max-reduce, broadcast and barrier together, with either side
// hosting the TCPStore.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { freePort, lastJson, nodeRank, rankEnv, run } from "./helpers.ts";

const python = "/usr/bin/python3";
const hasTorch = spawnSync(python, ["-c", "import torch.distributed as d; assert d.is_gloo_available()"]).status === 0;

describe("c10d interop with PyTorch", {
  skip: hasTorch ? false : "Debian python3-torch with gloo not installed",
}, () => {
  for (const pyRank of [0, 1]) {
    it(`python rank ${pyRank} + ercnn rank ${1 - pyRank}: all_reduce sum/max, broadcast, barrier`, async () => {
      const port = await freePort();
      const py = run(python, ["test/distributed/interop_rank.py"], rankEnv(port, pyRank, 2), 90_000);
      const js = nodeRank("interop", rankEnv(port, 1 - pyRank, 2), [], 90_000);
      const [a, b] = await Promise.all([py.done, js.done]);
      assert.equal(a.code, 0, `python rank failed:\n${a.stderr}`);
      assert.equal(b.code, 0, `ercnn rank failed:\n${b.stderr}`);
      for (const res of [lastJson(a), lastJson(b)]) {
        // ranks contribute [r+1, 10(r+1), 0.5(r+1)] for r = 0, 1
        assert.deepEqual(res.sum, [3, 30, 1.5]);
        assert.deepEqual(res.max, [7]);
        assert.deepEqual(res.bcast, [3.25, 42]);
      }
      assert.equal(lastJson(a).rank, pyRank);
      assert.equal(lastJson(b).rank, 1 - pyRank);
    });
  }
});
