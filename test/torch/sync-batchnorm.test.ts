// SyncBatchNorm in one process: its statistics arithmetic checked against ATen's batch_norm (float64), with a stand-in
// group of 2 whose "other rank" holds the same batch (so the global batch is x twice); and convertSyncBatchnorm's
// plumbing. The 2-process exactness test under DDP is test/distributed/sync-bn.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cat, F, full, manualSeed, nn, noGrad, randn, type Tensor } from "../../src/torch/index.ts";

const twin: nn.StatsGroup = { worldSize: 2, allReduceSumAutograd: (t: Tensor) => t.mul(2) };

/** A stand-in group of 2 whose other rank holds the batch z: adds z's share to each of SyncBatchNorm's two sums. */
function otherRank(z: Tensor): nn.StatsGroup {
  const C = z.shape[1];
  let mean: Tensor | null = null;
  return {
    worldSize: 2,
    allReduceSumAutograd: (t: Tensor) => {
      if (!mean) {
        const s = t.add(cat([z.sum([0, 2, 3]), full([1], z.numel() / C, { dtype: z.dtype })]));
        mean = noGrad(() => s.narrow(0, 0, C).div(s.select(0, C).item() as number));
        return s;
      }
      const r = t.add(
        z
          .sub(mean.view([1, C, 1, 1]))
          .pow(2)
          .sum([0, 2, 3]),
      );
      mean = null;
      return r;
    },
  };
}

function maxAbs(a: Tensor, b: Tensor): number {
  return noGrad(() => a.sub(b).abs().max().item() as number);
}

describe("SyncBatchNorm", () => {
  test("train-mode output and running statistics equal ATen's batch_norm over the global batch (float64)", () => {
    manualSeed(3);
    const x = randn([5, 4, 3, 2], { dtype: "float64" }).mul(3).add(1.5);
    const z = randn([7, 4, 3, 2], { dtype: "float64" }).mul(0.5).sub(2);
    const [w, b] = [randn([4], { dtype: "float64" }), randn([4], { dtype: "float64" })];
    const [rm, rv] = [randn([4], { dtype: "float64" }), randn([4], { dtype: "float64" }).abs()];
    // Reference: ATen's batch_norm on the global batch [x; z] (12 × 3 × 2 = 72 values per channel).
    const [rmRef, rvRef] = [rm.clone(), rv.clone()];
    const ref = noGrad(() => F.batchNorm(cat([x, z]), rmRef, rvRef, w, b, true, 0.3, 1e-5).narrow(0, 0, 5));
    const sbn = new nn.SyncBatchNorm(4, { momentum: 0.3 }, otherRank(z));
    sbn.weight = sbn.registerParameter("weight", w.clone());
    sbn.bias = sbn.registerParameter("bias", b.clone());
    sbn.runningMean = sbn.registerBuffer("running_mean", rm.clone());
    sbn.runningVar = sbn.registerBuffer("running_var", rv.clone());
    const y = sbn.forward(x);
    assert.ok(maxAbs(y, ref) < 1e-12, `output differs by ${maxAbs(y, ref)}`);
    assert.ok(maxAbs(sbn.runningMean, rmRef) < 1e-12, `running mean ${maxAbs(sbn.runningMean, rmRef)}`);
    assert.ok(maxAbs(sbn.runningVar, rvRef) < 1e-12, `running variance (unbiased) ${maxAbs(sbn.runningVar, rvRef)}`);
    assert.equal(Number(sbn.numBatchesTracked!.item()), 1);
    // x's own statistics (DDP's per-rank default) are far from the global ones: the comparison above can fail.
    const [rmAlone, rvAlone] = [rm.clone(), rv.clone()];
    const own = noGrad(() => F.batchNorm(x, rmAlone, rvAlone, w, b, true, 0.3, 1e-5));
    assert.ok(maxAbs(own, ref) > 0.1);
  });

  test("eval mode, no group, or a group of one: plain BatchNorm (no collective)", () => {
    manualSeed(4);
    const x = randn([3, 2, 4, 4]);
    const never: nn.StatsGroup = {
      worldSize: 1,
      allReduceSumAutograd: () => {
        throw new Error("no collective expected");
      },
    };
    for (const g of [null, never]) {
      const s = new nn.SyncBatchNorm(2, {}, g);
      const bn = new nn.BatchNorm2d(2);
      assert.ok(maxAbs(s.forward(x), bn.forward(x)) < 1e-6);
    }
    const s = new nn.SyncBatchNorm(2, {}, { ...never, worldSize: 2 });
    s.eval();
    assert.doesNotThrow(() => s.forward(x));
  });

  test("convertSyncBatchnorm replaces children and fields, shares the tensors, keeps frozen parameters frozen", () => {
    class M extends nn.Module {
      bn: nn.BatchNorm2d = this.registerModule("bn", new nn.BatchNorm2d(3));
      seq = this.registerModule("seq", new nn.Sequential(new nn.Conv2d(3, 3, 1), new nn.BatchNorm2d(3)));
      forward(x: Tensor): Tensor {
        return this.seq.forward(this.bn.forward(x));
      }
    }
    const m = new M();
    const oldBn = m.bn;
    const before = m.parameters();
    const frozenBias = (m.seq.at(1) as nn.BatchNorm2d).bias!;
    frozenBias.requiresGrad = false;
    const out = nn.convertSyncBatchnorm(m, twin);
    assert.equal(out, m);
    assert.ok(m.bn instanceof nn.SyncBatchNorm && m.bn !== oldBn);
    assert.equal(m.getModule("bn"), m.bn);
    assert.ok(m.seq.at(1) instanceof nn.SyncBatchNorm);
    assert.equal((m.seq.at(1) as nn.SyncBatchNorm).processGroup, twin);
    assert.deepEqual(m.parameters(), before, "same parameter objects, in the same order");
    assert.equal(m.bn.runningMean, oldBn.runningMean);
    assert.equal(frozenBias.requiresGrad, false);
    assert.deepEqual(
      [...m.stateDict().keys()].sort(),
      [...new M().stateDict().keys()].sort(),
      "state dict keys unchanged (checkpoints interchangeable)",
    );
    const root = nn.convertSyncBatchnorm(new nn.BatchNorm2d(2));
    assert.ok(root instanceof nn.SyncBatchNorm);
  });
});
