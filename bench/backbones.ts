// Forward+backward throughput (img/s) of the model-zoo backbones, ercnn vs PyTorch + torchvision (Debian's
// python3-torch, the same libtorch) on this machine, in one run. Batch 32; 32×32 for the CIFAR nets, 224×224 for
// resnet50 and convnext_tiny. Each measurement runs in its own process (so peak RSS is per backbone); rounds
// alternate ercnn and PyTorch and the best of each is kept. Step = forward, cross-entropy, zero_grad, backward
// (no optimizer step), training mode. img/s = batch / fastest timed iteration (best of the rounds): the
// minimum filters out other processes on a shared machine; the mean is printed per round on stderr.
// Usage: node --import tsx bench/backbones.ts [--rounds 2] [--threads 2] [--batch 32] [--models resnet20,...]
//        [--iters-small 10] [--warmup-small 2] [--iters-large 2] [--warmup-large 1] [--device cpu|cuda|cuda:N]
// (the PyTorch side runs on the same device; needs a CUDA PyTorch for cuda)
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { createBackbone } from "../src/models/index.ts";
import { moduleTo, toDevice } from "../src/torch/device.ts";
import { F, manualSeed, randint, randn, setNumThreads, tidy } from "../src/torch/index.ts";
import { deviceOption, synchronize } from "./device-option.ts";

const { values: a } = parseArgs({
  options: {
    worker: { type: "string" },
    side: { type: "string" },
    warmup: { type: "string" },
    iters: { type: "string" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "32" },
    models: { type: "string", default: "resnet20,resnet56,resnet9,resnet50,convnext_tiny" },
    "iters-small": { type: "string", default: "10" },
    "warmup-small": { type: "string", default: "2" },
    "iters-large": { type: "string", default: "3" },
    "warmup-large": { type: "string", default: "1" },
    device: { type: "string", default: "cpu" },
  },
});
const device = deviceOption(a.device);
const threads = Number(a.threads);
const batch = Number(a.batch);

interface Result {
  params: number;
  /** batch / fastest iteration (robust to other processes on a shared machine). */
  imgs: number;
  /** batch · iterations / total time. */
  mean_imgs: number;
  rss_mb: number;
}

function worker(name: string, side: number, warmup: number, iters: number): Result {
  setNumThreads(threads);
  manualSeed(0);
  const model = moduleTo(createBackbone(name).train(), device);
  const x = toDevice(randn([batch, 3, side, side]), device);
  const y = toDevice(randint(0, 10, [batch]), device);
  const step = () =>
    tidy(() => {
      const loss = F.crossEntropy(model.forward(x), y);
      model.zeroGrad();
      loss.backward();
    });
  for (let i = 0; i < warmup; i++) step();
  synchronize(device, x);
  let best = Number.POSITIVE_INFINITY;
  let total = 0;
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    step();
    synchronize(device, model.parameters()[0]);
    const dt = (performance.now() - t0) / 1000;
    best = Math.min(best, dt);
    total += dt;
  }
  return {
    params: model.numParameters(),
    imgs: batch / best,
    mean_imgs: (batch * iters) / total,
    rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}

if (a.worker) {
  console.log(JSON.stringify(worker(a.worker, Number(a.side), Number(a.warmup), Number(a.iters))));
  process.exit(0);
}

function run(cmd: string, args: string[]): Result {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const SMALL = new Set(["resnet20", "resnet56", "resnet9"]);
const rows: string[] = [];
for (const name of a.models!.split(",")) {
  const small = SMALL.has(name);
  const side = small ? 32 : 224;
  const warmup = small ? a["warmup-small"]! : a["warmup-large"]!;
  const iters = small ? a["iters-small"]! : a["iters-large"]!;
  let best: { ours: Result; torch: Result } | null = null;
  for (let r = 0; r < Number(a.rounds); r++) {
    const o = run(process.execPath, [
      "--import",
      "tsx",
      "bench/backbones.ts",
      "--worker",
      name,
      "--side",
      String(side),
      "--warmup",
      warmup,
      "--iters",
      iters,
      "--threads",
      String(threads),
      "--batch",
      String(batch),
      "--device",
      device,
    ]);
    const t = run("/usr/bin/python3", [
      "bench/backbones_torch.py",
      name,
      String(side),
      String(batch),
      warmup,
      iters,
      String(threads),
      device,
    ]);
    console.error(
      `${name} round ${r + 1}: ercnn ${o.imgs.toFixed(2)} img/s best, ${o.mean_imgs.toFixed(2)} mean (${o.rss_mb.toFixed(0)} MB) | pytorch ${t.imgs.toFixed(2)} best, ${t.mean_imgs.toFixed(2)} mean (${t.rss_mb.toFixed(0)} MB)`,
    );
    if (o.params !== t.params)
      throw new Error(`${name}: parameter counts differ (ercnn ${o.params}, pytorch ${t.params})`);
    best = best
      ? {
          ours: { ...o, imgs: Math.max(best.ours.imgs, o.imgs), rss_mb: Math.max(best.ours.rss_mb, o.rss_mb) },
          torch: { ...t, imgs: Math.max(best.torch.imgs, t.imgs), rss_mb: Math.max(best.torch.rss_mb, t.rss_mb) },
        }
      : { ours: o, torch: t };
  }
  const b = best!;
  const ratio = b.ours.imgs / b.torch.imgs;
  rows.push(
    `| ${name} | ${side}×${side} | ${(b.ours.params / 1e6).toFixed(2)}M | ${b.ours.imgs.toFixed(2)} | ${b.torch.imgs.toFixed(2)} | **${ratio.toFixed(3)}** | ${b.ours.rss_mb.toFixed(0)} | ${b.torch.rss_mb.toFixed(0)} | ${ratio >= 0.95 ? "pass" : "FAIL"} |`,
  );
}
console.log(
  `batch ${batch}, ${device}, ${threads} threads, forward+backward (train mode, no optimizer step), img/s from the fastest iteration; CIFAR nets ${a["iters-small"]} timed iterations after ${a["warmup-small"]} warm-up, 224×224 nets ${a["iters-large"]} after ${a["warmup-large"]}; best of ${a.rounds} alternating rounds, each in a fresh process\n`,
);
console.log(
  "| backbone | input | params | ercnn img/s | PyTorch img/s | ratio | ercnn peak RSS MB | PyTorch peak RSS MB | ≥ 0.95× |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
