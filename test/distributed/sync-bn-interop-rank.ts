// The ercnn rank of the SyncBatchNorm interop test: the same data, parameters and loss as sync_bn_rank.py, through
// nn.SyncBatchNorm on the group (its differentiable all-reduces meet PyTorch's torch.distributed.nn all_reduce).
import { initFromEnv } from "../../src/torch/distributed.ts";
import { nn, noGrad, tensor } from "../../src/torch/index.ts";

const [C, H, W] = [2, 3, 3];
const SIZES = [3, 5];
const pg = initFromEnv({ timeoutMs: 60_000 });
const r = pg.rank;
const n = SIZES[r] * C * H * W;
const shape = [SIZES[r], C, H, W];
const x = tensor(
  Array.from({ length: n }, (_, k) => Math.sin(0.37 * (k + 1) + 1.3 * r) * (1 + r) + 0.5 * r),
  { dtype: "float32" },
).reshape(shape);
const g = tensor(
  Array.from({ length: n }, (_, k) => Math.cos(0.11 * (k + 1) + r)),
  { dtype: "float32" },
).reshape(shape);
x.requiresGrad_();
const bn = new nn.SyncBatchNorm(C, { eps: 1e-5, momentum: 0.1 }, pg);
noGrad(() => {
  bn.weight!.copy_(tensor([1.5, -0.7], { dtype: "float32" }));
  bn.bias!.copy_(tensor([0.2, 0.1], { dtype: "float32" }));
  bn.runningMean!.copy_(tensor([0.1, -0.2], { dtype: "float32" }));
  bn.runningVar!.copy_(tensor([1.3, 0.8], { dtype: "float32" }));
});
const y = bn.forward(x);
y.mul(g).sum().backward();
const out = noGrad(() => ({
  rank: r,
  y: y.toArray(),
  gx: x.grad!.toArray(),
  gw: bn.weight!.grad!.toArray(),
  gb: bn.bias!.grad!.toArray(),
  rm: bn.runningMean!.toArray(),
  rv: bn.runningVar!.toArray(),
}));
console.log(JSON.stringify(out));
pg.destroy();
