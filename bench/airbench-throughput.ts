// Training throughput of airbench94 in ercnn against its PyTorch twin (bench/airbench_torch.py, Debian's
// python3-torch, the same libtorch), in one run: same net, batch, threads and step (forward, label-smoothed
// cross-entropy, backward, Nesterov SGD). Each side is timed in NCHW and in channels_last (x and the 4-D weights
// re-laid, as model.to(memory_format=torch.channels_last)); each side's faster one counts. Rounds alternate the sides (PyTorch first in even rounds) so
// drift on a shared machine hits both; the best round of each counts. Prints ercnn img/s ÷ PyTorch img/s.
// With --trainer STORE it also times ercnn's own training loop on that store (airbench-trainer-side.ts: the loader,
// the frozen adaptation, flip + translate, the recipe's optimizer, schedule and Lookahead) at the same batch, in the
// same rounds, and prints trainer ÷ bare net: the cost of everything around the net.
// Usage: node --import tsx bench/airbench-throughput.ts [--steps 4] [--warmup 1] [--batch 256] [--threads 2] [--rounds 1]
//        [--backbone airbench94|airbench95|airbench94_muon] [--profile] (--profile: time ercnn's forward, backward and step apart)
//        [--trainer STORE [--recipe airbench94] [--workers 2]] [--no-torch]
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { AIRBENCH94, AIRBENCH94_MUON, AIRBENCH95, Airbench } from "../src/models/index.ts";
import {
  F,
  type MemoryFormat,
  manualSeed,
  moduleToMemoryFormat,
  optim,
  randint,
  randn,
  setNumThreads,
  type Tensor,
  tidy,
  toMemoryFormat,
} from "../src/torch/index.ts";
import { TrainerSide } from "./airbench-trainer-side.ts";

const { values: a } = parseArgs({
  options: {
    steps: { type: "string", default: "4" },
    warmup: { type: "string", default: "1" },
    batch: { type: "string", default: "256" },
    threads: { type: "string", default: "2" },
    backbone: { type: "string", default: "airbench94" },
    rounds: { type: "string", default: "1" },
    profile: { type: "boolean", default: false },
    trainer: { type: "string" },
    recipe: { type: "string", default: "airbench94" },
    workers: { type: "string", default: "2" },
    "no-torch": { type: "boolean", default: false },
  },
});
const steps = Number(a.steps);
const warmup = Number(a.warmup);
const batch = Number(a.batch);
const threads = Number(a.threads);
const cfg = a.backbone === "airbench95" ? AIRBENCH95 : a.backbone === "airbench94_muon" ? AIRBENCH94_MUON : AIRBENCH94;

/** ercnn's images per second, and (with --profile) the seconds per step spent in forward, backward and step. */
function ours(format: MemoryFormat): { ips: number; cpu: number; split: Record<string, number> } {
  setNumThreads(threads);
  manualSeed(0);
  const net = new Airbench(cfg);
  moduleToMemoryFormat(net, format);
  const opt = new optim.SGD(
    net.parameters().filter((p) => p.requiresGrad),
    { lr: 0.001, momentum: 0.85, nesterov: true },
  );
  const x0 = randn([batch, 3, 32, 32]);
  const x = toMemoryFormat(x0, format);
  const y = randint(0, 10, [batch]);
  const split = { forward: 0, backward: 0, step: 0 };
  const step = (record: boolean) =>
    tidy(() => {
      const t0 = performance.now();
      const loss: Tensor = F.crossEntropy(net.forward(x), y, { labelSmoothing: 0.2 });
      const t1 = performance.now();
      opt.zeroGrad();
      loss.backward();
      const t2 = performance.now();
      opt.step();
      const t3 = performance.now();
      if (record) {
        split.forward += (t1 - t0) / 1000 / steps;
        split.backward += (t2 - t1) / 1000 / steps;
        split.step += (t3 - t2) / 1000 / steps;
      }
    });
  net.train();
  for (let i = 0; i < warmup; i++) step(false);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step(true);
  const ips = (batch * steps) / ((performance.now() - t0) / 1000);
  const cpu = cpuSeconds(c0) / (batch * steps);
  opt.dispose();
  net.dispose();
  if (x !== x0) x.dispose();
  x0.dispose();
  y.dispose();
  return { ips, cpu, split };
}

/** CPU seconds (user + system, every thread of this process) since `from`. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1e6;
}

function pytorch(): { contiguous: number; channels_last: number } {
  const r = spawnSync(
    "/usr/bin/python3",
    ["bench/airbench_torch.py", String(steps), String(warmup), String(threads), String(batch), cfg.widths.join(",")],
    { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  if (r.status !== 0) throw new Error(`PyTorch side failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const trainer = a.trainer
  ? await TrainerSide.open({
      store: a.trainer,
      recipe: a.recipe!,
      batch,
      steps,
      threads,
      workers: Number(a.workers),
    })
  : null;
let mine = {
  ips: 0,
  cpu: Number.POSITIVE_INFINITY,
  split: {} as Record<string, number>,
  format: "contiguous" as MemoryFormat,
};
const mineByFormat = { contiguous: 0, channels_last: 0 };
let loop = { ips: 0, cpu: Number.POSITIVE_INFINITY, split: {} as Record<string, number> };
// CPU seconds per image: on a machine others load, CPU time moves far less than wall time (the least of the rounds)
const cpu = { bare: Number.POSITIVE_INFINITY, trainer: Number.POSITIVE_INFINITY };
const ref = { contiguous: 0, channels_last: 0 };
for (let r = 0; r < Number(a.rounds); r++) {
  const sides: Array<() => Promise<void>> = [
    async () => {
      for (const format of ["contiguous", "channels_last"] as const) {
        const got = ours(format);
        if (got.ips > mineByFormat[format]) mineByFormat[format] = got.ips;
        cpu.bare = Math.min(cpu.bare, got.cpu);
        if (got.ips > mine.ips) mine = { ...got, format };
      }
    },
  ];
  if (trainer)
    sides.push(async () => {
      const got = await trainer.time();
      cpu.trainer = Math.min(cpu.trainer, got.cpu);
      if (got.ips > loop.ips) loop = got;
    });
  if (!a["no-torch"])
    sides.push(async () => {
      const got = pytorch();
      ref.contiguous = Math.max(ref.contiguous, got.contiguous);
      ref.channels_last = Math.max(ref.channels_last, got.channels_last);
    });
  if (r % 2 === 1) sides.reverse();
  for (const side of sides) await side();
}
await trainer?.close();
const best = Math.max(ref.contiguous, ref.channels_last);
const fmt = ref.channels_last >= ref.contiguous ? "channels_last" : "NCHW";
console.log(
  `${a.backbone}, batch ${batch}, ${threads} threads, ${steps} timed steps after ${warmup} warm-up, best of ${a.rounds} round(s)`,
);
const ms = (v: number) => `${(1000 * v).toFixed(1)} CPU ms/img`;
console.log(`ercnn NCHW              ${mineByFormat.contiguous.toFixed(1)} img/s`);
console.log(`ercnn channels_last     ${mineByFormat.channels_last.toFixed(1)} img/s`);
console.log(`ercnn's faster (${mine.format}): ${ms(cpu.bare)} at best`);
if (trainer) {
  console.log(
    `ercnn trainer loop      ${loop.ips.toFixed(1)} img/s, ${ms(cpu.trainer)} (${a.recipe}, ${a.workers} loader workers)`,
  );
  console.log(`  loader wait per step  ${loop.split.loaderWait.toFixed(3)} s`);
}
if (!a["no-torch"]) {
  console.log(`PyTorch NCHW            ${ref.contiguous.toFixed(1)} img/s`);
  console.log(`PyTorch channels_last   ${ref.channels_last.toFixed(1)} img/s`);
  console.log(`ratio ercnn (${mine.format}) / PyTorch (${fmt}): ${(mine.ips / best).toFixed(3)}×`);
  if (trainer) console.log(`ratio trainer / PyTorch (${fmt}): ${(loop.ips / best).toFixed(3)}×`);
}
if (trainer) {
  console.log(`ratio trainer / bare net (img/s): ${(loop.ips / mine.ips).toFixed(3)}×`);
  console.log(`ratio trainer / bare net (CPU time per image, bare ÷ trainer): ${(cpu.bare / cpu.trainer).toFixed(3)}×`);
}
if (a.profile) {
  const s = mine.split;
  console.log(
    `ercnn per step: forward ${s.forward.toFixed(3)} s, backward ${s.backward.toFixed(3)} s, step ${s.step.toFixed(3)} s`,
  );
}
