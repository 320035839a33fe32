// Training and eval throughput of ercnn vs PyTorch (Debian's python3-torch, same libtorch) on the
// foundation benchmark nets, batch 32, 32×32, in one run. Rounds alternate ercnn and PyTorch so
// drift on a shared machine hits both; the best round of each is reported.
// Usage: node --import tsx bench/train-throughput.ts [--iters 20] [--warmup 3] [--rounds 2] [--threads 2]
//        [--device cpu|cuda|cuda:N] (the PyTorch side runs on the same device; needs a CUDA PyTorch for cuda)
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { moduleTo, toDevice } from "../src/torch/device.ts";
import { F, manualSeed, noGrad, optim, randint, randn, setNumThreads, tidy } from "../src/torch/index.ts";
import { deviceOption, synchronize } from "./device-option.ts";
import { ResNet18Cifar, SmallConvNeXt } from "./nets.ts";

const { values: a } = parseArgs({
  options: {
    iters: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    rounds: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "32" },
    models: { type: "string", default: "resnet18_cifar,convnext_small_cifar" },
    device: { type: "string", default: "cpu" },
  },
});
const device = deviceOption(a.device);
const iters = Number(a.iters);
const warmup = Number(a.warmup);
const threads = Number(a.threads);
const batch = Number(a.batch);

const factories = { resnet18_cifar: () => new ResNet18Cifar(), convnext_small_cifar: () => new SmallConvNeXt() };
type Name = keyof typeof factories;

interface Result {
  params: number;
  train: number;
  eval: number;
}

function ours(name: Name): Result {
  setNumThreads(threads);
  manualSeed(0);
  const model = moduleTo(factories[name](), device);
  const opt = new optim.SGD(model.parameters(), { lr: 0.002, momentum: 0.9 });
  const x = toDevice(randn([batch, 3, 32, 32]), device);
  const y = toDevice(randint(0, 10, [batch]), device);
  const trainStep = () =>
    tidy(() => {
      const loss = F.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
  const evalStep = () => tidy(() => noGrad(() => model.forward(x)));
  const out: Result = { params: model.numParameters(), train: 0, eval: 0 };
  for (const [mode, step] of [
    ["train", trainStep],
    ["eval", evalStep],
  ] as const) {
    model.train(mode === "train");
    for (let i = 0; i < warmup; i++) step();
    synchronize(device, x);
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) step();
    synchronize(device, model.parameters()[0]);
    out[mode] = (batch * iters) / ((performance.now() - t0) / 1000);
  }
  model.dispose();
  opt.dispose?.();
  x.dispose();
  y.dispose();
  return out;
}

function pytorch(name: Name): Result {
  const r = spawnSync(
    "/usr/bin/python3",
    ["bench/train_throughput_torch.py", name, String(iters), String(warmup), String(threads), String(batch), device],
    { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  if (r.status !== 0) throw new Error(`PyTorch side failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const rows: string[] = [];
for (const name of a.models!.split(",") as Name[]) {
  let best = { ours: { params: 0, train: 0, eval: 0 }, torch: { params: 0, train: 0, eval: 0 } };
  for (let r = 0; r < Number(a.rounds); r++) {
    const o = ours(name);
    const t = pytorch(name);
    console.error(
      `${name} round ${r + 1}: ercnn train ${o.train.toFixed(1)} eval ${o.eval.toFixed(1)} | pytorch train ${t.train.toFixed(1)} eval ${t.eval.toFixed(1)} img/s`,
    );
    if (o.params !== t.params)
      throw new Error(`${name}: parameter counts differ (ercnn ${o.params}, pytorch ${t.params})`);
    best = {
      ours: { params: o.params, train: Math.max(best.ours.train, o.train), eval: Math.max(best.ours.eval, o.eval) },
      torch: { params: t.params, train: Math.max(best.torch.train, t.train), eval: Math.max(best.torch.eval, t.eval) },
    };
  }
  const tr = best.ours.train / best.torch.train;
  const ev = best.ours.eval / best.torch.eval;
  rows.push(
    `| ${name} | ${(best.ours.params / 1e6).toFixed(2)}M | ${best.ours.train.toFixed(1)} | ${best.torch.train.toFixed(1)} | **${tr.toFixed(3)}** | ${best.ours.eval.toFixed(1)} | ${best.torch.eval.toFixed(1)} | ${ev.toFixed(3)} | ${tr >= 0.95 ? "pass" : "FAIL"} |`,
  );
}
console.log(
  `batch ${batch}, 32×32, ${device}, ${threads} threads, ${iters} timed iterations after ${warmup} warm-up, best of ${a.rounds} alternating rounds\n`,
);
console.log(
  "| model | params | ercnn train img/s | PyTorch train img/s | train ratio | ercnn eval img/s | PyTorch eval img/s | eval ratio | ≥ 0.95× |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
