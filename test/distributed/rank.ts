// One rank of a multi-process test; the scenario is argv[2]. Prints one JSON line with what it observed.

import { initFromEnv } from "../../src/torch/distributed.ts";
import { tensor } from "../../src/torch/index.ts";

const scenario = process.argv[2];
const timeoutMs = Number(process.env.ERCNN_TEST_DIST_TIMEOUT_MS ?? 60_000);

if (scenario === "interop") {
  // Must mirror test/distributed/interop_rank.py step by step.
  const pg = initFromEnv({ timeoutMs });
  const r = pg.rank;
  const x = tensor([r + 1, 10 * (r + 1), 0.5 * (r + 1)], { dtype: "float32" });
  pg.allReduce(x, "sum");
  const m = tensor([r * 7], { dtype: "float64" });
  pg.allReduce(m, "max");
  const b = tensor([r === 0 ? 3.25 : -1, r === 0 ? 42 : -1], { dtype: "float32" });
  pg.broadcast(b, 0);
  pg.barrier();
  console.log(JSON.stringify({ rank: r, sum: x.toArray(), max: m.toArray(), bcast: b.toArray() }));
  pg.destroy();
}

if (scenario === "ddp-exact") {
  // K SGD steps of an MLP on fixed data. With WORLD_SIZE set: DDP, rank r takes its DistributedSampler slice of each
  // global batch of b·W rows. Without: one process with the whole global batch. Prints the final parameters.
  const [b, K, capMB] = process.argv.slice(3).map(Number);
  const { F, manualSeed, nn, optim, randn, randint, tensor: T, noGrad } = await import("../../src/torch/index.ts");
  const { DistributedDataParallel, distEnvFromProcess } = await import("../../src/torch/distributed.ts");
  const { shardOrder } = await import("../../src/data/distributed-sampler.ts");
  const de = distEnvFromProcess();
  const W = de?.worldSize ?? 1;
  const global = b * (de ? W : 2);
  // Different initial weights per rank: DDP's start-of-training broadcast must make them rank 0's.
  manualSeed(100 + (de?.rank ?? 0));
  const model = new nn.Sequential(
    new nn.Linear(20, 64),
    new nn.ReLU(),
    new nn.Linear(64, 64),
    new nn.ReLU(),
    new nn.Linear(64, 5),
  );
  manualSeed(7);
  const X = randn([K * global, 20]);
  const Y = randint(0, 5, [K * global]);
  const pg = de ? initFromEnv({ timeoutMs }) : null;
  const ddp = pg ? new DistributedDataParallel(model, pg, { bucketCapMB: capMB, firstBucketMB: capMB }) : null;
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  for (let k = 0; k < K; k++) {
    const rows = Array.from({ length: global }, (_, i) => k * global + i);
    const mine = pg ? [...shardOrder(rows, pg.rank, W)] : rows;
    const idx = T(mine, { dtype: "int64" });
    const x = X.indexSelect(0, idx);
    const y = Y.indexSelect(0, idx);
    opt.zeroGrad();
    const out = ddp ? ddp.forward(x) : model.forward(x);
    const loss = F.crossEntropy(out, y);
    if (ddp) ddp.backward(loss);
    else loss.backward();
    opt.step();
  }
  const params = noGrad(() => model.parameters().map((p) => p.toArray()));
  console.log(JSON.stringify({ rank: pg?.rank ?? -1, buckets: ddp?.buckets ?? 0, params }));
  pg?.destroy();
}

if (scenario === "fault") {
  // All-reduces in a loop until a peer dies; prints "ready" first so the test knows the group is formed.
  const pg = initFromEnv({ timeoutMs, heartbeatMs: 250 });
  const x = tensor([1, 2, 3], { dtype: "float32" });
  pg.barrier();
  console.log("ready");
  const t0 = Date.now();
  try {
    for (let i = 0; i < 1e6 && Date.now() - t0 < 120_000; i++) {
      pg.allReduce(x, "avg");
      await new Promise((r) => setTimeout(r, 5));
    }
  } catch (e) {
    console.error((e as Error).message);
    console.log(JSON.stringify({ rank: pg.rank, failed: true, ranks: (e as { ranks?: number[] }).ranks ?? null }));
    process.exit(3);
  }
  console.log(JSON.stringify({ rank: pg.rank, failed: false }));
}

if (scenario === "launched") {
  // Started by launchRanks: report the torchrun variables and prove the group works.
  const mode = process.argv[3] ?? "ok";
  const pid = process.pid;
  if (mode === "fail" && process.env.RANK === "1") process.exit(5);
  if (mode === "sleep") {
    console.log(JSON.stringify({ rank: Number(process.env.RANK), pid }));
    setInterval(() => {}, 1000);
  } else {
    const pg = initFromEnv({ timeoutMs });
    const x = tensor([pg.rank + 1], { dtype: "float32" });
    pg.allReduce(x, "sum");
    const e = process.env;
    console.log(
      JSON.stringify({
        rank: pg.rank,
        pid,
        sum: x.toArray()[0],
        env: [e.MASTER_ADDR, e.WORLD_SIZE, e.RANK, e.LOCAL_RANK, e.ERCNN_THREADS],
      }),
    );
    pg.barrier();
    pg.destroy();
  }
}
