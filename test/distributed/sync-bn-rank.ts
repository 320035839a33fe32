// One process of the SyncBatchNorm exactness test: K SGD steps of a small conv net with BatchNorm in train mode.
//   argv: b K mode, mode = "sync" (SyncBatchNorm under DDP) or "plain" (per-rank BatchNorm, DDP's default).
// With WORLD_SIZE set: rank r takes its DistributedSampler slice of each global batch of b·W rows. Without: one
// process, ordinary BatchNorm, the whole global batch of 2b. Prints the final parameters and BatchNorm buffers.
import { shardOrder } from "../../src/data/distributed-sampler.ts";
import { DistributedDataParallel, distEnvFromProcess, initFromEnv } from "../../src/torch/distributed.ts";
import { F, manualSeed, nn, noGrad, optim, randint, randn, type Tensor, tensor } from "../../src/torch/index.ts";

class Net extends nn.Module {
  conv1 = this.registerModule("conv1", new nn.Conv2d(3, 8, 3, { padding: 1 }));
  bn1: nn.BatchNorm2d = this.registerModule("bn1", new nn.BatchNorm2d(8));
  body = this.registerModule(
    "body",
    new nn.Sequential(new nn.ReLU(), new nn.Conv2d(8, 8, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(8)),
  );
  head = this.registerModule("head", new nn.Linear(8, 4));
  forward(x: Tensor): Tensor {
    const h = this.body.forward(this.bn1.forward(this.conv1.forward(x))).relu();
    return this.head.forward(h.mean([2, 3]));
  }
}

const [b, K] = process.argv.slice(2, 4).map(Number);
const mode = process.argv[4];
const de = distEnvFromProcess();
const W = de?.worldSize ?? 1;
const global = b * (de ? W : 2);
manualSeed(100 + (de?.rank ?? 0)); // rank 0's weights must win (DDP's start broadcast)
let model = new Net();
manualSeed(7);
// Inputs with a non-zero mean and a per-sample offset, so per-rank statistics differ from the global ones.
const X = randn([K * global, 3, 6, 6])
  .mul(2)
  .add(randn([K * global, 1, 1, 1]).mul(1.5))
  .add(0.7);
const Y = randint(0, 4, [K * global]);
const pg = de ? initFromEnv({ timeoutMs: Number(process.env.ERCNN_TEST_DIST_TIMEOUT_MS ?? 60_000) }) : null;
if (pg && mode === "sync") model = nn.convertSyncBatchnorm(model, pg);
const synced = model.modules().filter((m) => m instanceof nn.SyncBatchNorm).length;
// A 1 KB bucket cap: several Reducer buckets, interleaved in backward with SyncBatchNorm's gradient all-reduces.
const ddp = pg ? new DistributedDataParallel(model, pg, { bucketCapMB: 0.001, firstBucketMB: 0.001 }) : null;
const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
for (let k = 0; k < K; k++) {
  const rows = Array.from({ length: global }, (_, i) => k * global + i);
  const idx = tensor([...(pg ? shardOrder(rows, pg.rank, W) : rows)], { dtype: "int64" });
  const x = X.indexSelect(0, idx);
  const y = Y.indexSelect(0, idx);
  opt.zeroGrad();
  const loss = F.crossEntropy(ddp ? ddp.forward(x) : model.forward(x), y);
  if (ddp) ddp.backward(loss);
  else loss.backward();
  opt.step();
}
const params = noGrad(() => model.parameters().map((p) => p.toArray()));
const buffers = noGrad(() => model.buffers().map((t) => t.toArray().map(Number)));
console.log(JSON.stringify({ rank: pg?.rank ?? -1, synced, buckets: ddp?.buckets ?? 0, params, buffers }));
pg?.destroy();
