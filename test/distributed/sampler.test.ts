// DistributedSampler semantics, checked against PyTorch's own DistributedSampler (shuffle=False over an order).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { samplesPerRank, shardOrder } from "../../src/data/distributed-sampler.ts";

const cases: [number, number, boolean][] = [];
for (const n of [1, 2, 5, 7, 10, 16])
  for (const w of [1, 2, 3, 4, 8]) for (const d of [false, true]) cases.push([n, w, d]);

const py = `
import json, sys
from torch.utils.data import DistributedSampler
out = []
for n, w, d in json.loads(sys.argv[1]):
    out.append([list(DistributedSampler(range(n), num_replicas=w, rank=r, shuffle=False, drop_last=d)) for r in range(w)])
print(json.dumps(out))
`;
const ref = spawnSync("/usr/bin/python3", ["-c", py, JSON.stringify(cases)], { encoding: "utf8" });

describe("DistributedSampler semantics", {
  skip: ref.status === 0 ? false : "Debian python3-torch not installed",
}, () => {
  it("every rank's slice equals PyTorch's for padded and drop-last splits", () => {
    const expected: number[][][] = JSON.parse(ref.stdout);
    cases.forEach(([n, w, d], c) => {
      // A non-identity order: PyTorch indexes the dataset, we index the epoch's order.
      const order = Array.from({ length: n }, (_, i) => 100 + ((i * 3) % n));
      for (let r = 0; r < w; r++) {
        const got = [...shardOrder(order, r, w, d)];
        assert.deepEqual(
          got,
          expected[c][r].map((i) => order[i]),
          `n=${n} W=${w} dropLast=${d} rank ${r}`,
        );
        assert.equal(got.length, samplesPerRank(n, w, d));
      }
    });
  });
  it("rejects a rank outside the world", () => {
    assert.throws(() => shardOrder([1, 2, 3], 2, 2), /rank must be in 0\.\.1/);
  });
});
