// Data-parallel training on this machine, side by side in one run: 1 process × 2 threads (batch 2b) against
// 2 ranks × 1 thread (batch b each, DDP over c10d Gloo on loopback), for ResNet-20 at 32×32 and ResNet-50 at
// 224×224. Per model: images/s of both and their ratio, the bytes all-reduced per step, the all-reduce time alone,
// and how much of it backward hides (backward with DDP − backward alone, against the all-reduce alone). Then the
// ring all-reduce model projects the step time to 8 and 64 machines at 10 and 100 Gbit/s (docs/distributed.md).
//   node --import tsx bench/distributed-scaling.ts [--steps 4] [--models resnet20,resnet50] [--device cpu|cuda]
// --sync-bn: the ranks convert BatchNorm to SyncBatchNorm (its extra all-reduces are in the step time).
// --device cuda: each rank on cuda:LOCAL_RANK with an NCCL group (needs an addon built with NCCL; refused otherwise).
import { spawnSync } from "node:child_process";
import { deviceForRank } from "../src/torch/device.ts";
import { ncclAvailable } from "../src/torch/distributed.ts";
import { launchRanks } from "../src/train/distributed-launch.ts";
import { deviceOption } from "./device-option.ts";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const STEPS = Number(arg("steps", "4"));
const MODELS = arg("models", "resnet20,resnet50").split(",");
const DEVICE = deviceOption(arg("device", "cpu"));
const SYNC_BN = process.argv.includes("--sync-bn");
if (DEVICE !== "cpu" && !ncclAvailable()) {
  process.stderr.write(
    `${process.argv[1]}: --device ${DEVICE}: GPU ranks need NCCL, and this addon was built without it\n`,
  );
  process.exit(1);
}
const SETUP: Record<string, { size: number; classes: number; batch: number }> = {
  resnet20: { size: 32, classes: 10, batch: 32 },
  resnet50: { size: 224, classes: 1000, batch: 4 },
};

interface Measure {
  model: string;
  imgPerSec: number;
  stepMs: number;
  backwardMs: number;
  backwardAloneMs?: number;
  allreduceMs?: number;
  bytes: number;
  buckets?: number;
}

/** One role: "single" (whole batch, this process's threads) or "rank" (half the batch, DDP). */
async function measure(name: string, pg: import("../src/torch/distributed.ts").ProcessGroup | null): Promise<Measure> {
  const { createBackbone } = await import("../src/models/index.ts");
  const T = await import("../src/torch/index.ts");
  const D = await import("../src/torch/distributed.ts");
  const s = SETUP[name];
  const b = pg ? s.batch : 2 * s.batch;
  const { moduleTo, toDevice } = await import("../src/torch/device.ts");
  const device = DEVICE === "cpu" ? DEVICE : deviceForRank("cuda", pg?.localRank ?? 0);
  const sync = () => device !== "cpu" && T.tidy(() => params[0].sum().item());
  T.manualSeed(1);
  const model = moduleTo(createBackbone(name, { numClasses: s.classes }), device);
  model.train();
  const params = model.parameters();
  const bytes = params.reduce((n, p) => n + 4 * p.numel(), 0);
  if (pg && SYNC_BN) T.nn.convertSyncBatchnorm(model, pg);
  const ddp = pg ? new D.DistributedDataParallel(model, pg) : null;
  const opt = new T.optim.SGD(params, { lr: 0.01, momentum: 0.9 });
  const x = toDevice(T.randn([b, 3, s.size, s.size]), device);
  const y = toDevice(T.randint(0, s.classes, [b]), device);
  const step = (useDdp: boolean) =>
    T.tidy(() => {
      opt.zeroGrad();
      const out = useDdp && ddp ? ddp.forward(x) : model.forward(x);
      const loss = T.F.crossEntropy(out, y);
      const t0 = performance.now();
      if (useDdp && ddp) ddp.backward(loss);
      else loss.backward();
      sync();
      const bwd = performance.now() - t0;
      opt.step();
      return bwd;
    });
  step(true); // warm-up (and DDP's first bucket pass)
  const t0 = performance.now();
  let bwd = 0;
  for (let i = 0; i < STEPS; i++) bwd += step(true);
  const stepMs = (performance.now() - t0) / STEPS;
  const r: Measure = {
    model: name,
    imgPerSec: (1000 * b * (pg?.worldSize ?? 1)) / stepMs,
    stepMs,
    backwardMs: bwd / STEPS,
    bytes,
  };
  if (pg && ddp) {
    // backward without the reducer (not armed: plain forward), and the same bytes all-reduced on their own
    let alone = 0;
    for (let i = 0; i < STEPS; i++) alone += step(false);
    const flat = toDevice(T.zeros([bytes / 4]), device);
    pg.barrier();
    const a0 = performance.now();
    for (let i = 0; i < STEPS; i++) pg.allReduce(flat, "sum");
    Object.assign(r, {
      backwardAloneMs: alone / STEPS,
      allreduceMs: (performance.now() - a0) / STEPS,
      buckets: ddp.buckets,
    });
    pg.barrier();
  }
  return r;
}

/** Ring all-reduce of B bytes over N machines at G Gbit/s: 2(N−1)/N · B / bandwidth + 2(N−1) · latency. */
export function ringAllreduceMs(bytes: number, n: number, gbit: number, latencyUs = 50): number {
  return ((2 * (n - 1) * bytes * 8) / (n * gbit * 1e9)) * 1000 + (2 * (n - 1) * latencyUs) / 1000;
}

const role = process.argv[2];
if (role === "single" || role === "rank") {
  const D = await import("../src/torch/distributed.ts");
  const backend = DEVICE === "cpu" ? "gloo" : "nccl";
  const pg = role === "rank" ? D.initFromEnv({ timeoutMs: 600_000, backend }) : null;
  const out = [];
  for (const m of MODELS) out.push(await measure(m, pg));
  pg?.destroy();
  if (role === "single" || process.env.RANK === "0") console.log(JSON.stringify(out));
} else {
  const self = [...process.execArgv, process.argv[1]];
  const common = [
    "--steps",
    String(STEPS),
    "--models",
    MODELS.join(","),
    "--device",
    DEVICE === "cpu" ? "cpu" : "cuda",
    ...(SYNC_BN ? ["--sync-bn"] : []),
  ];
  const single = spawnSync(process.execPath, [...self, "single", ...common], {
    env: { ...process.env, ERCNN_THREADS: "2", OMP_NUM_THREADS: "2" },
    encoding: "utf8",
  });
  if (single.status !== 0) throw new Error(single.stderr);
  const one: Measure[] = JSON.parse(single.stdout.trim().split("\n").at(-1)!);
  let ranksOut = "";
  const write = process.stdout.write.bind(process.stdout);
  const res = await launchRanks({
    nproc: 2,
    command: process.execPath,
    args: [...self, "rank", ...common],
    threadsPerRank: 1,
    env: { GLOO_SOCKET_IFNAME: process.env.GLOO_SOCKET_IFNAME ?? "lo", ERCNN_BENCH_CHILD: "1" },
    onStdout: (s: string) => (ranksOut += s),
  });
  if (res.code !== 0) throw new Error(`ranks failed (${res.code})`);
  const two: Measure[] = JSON.parse(ranksOut.trim().split("\n").at(-1)!);
  const lines: string[] = [];
  lines.push(
    "| model | 1 proc × 2 threads img/s | 2 ranks × 1 thread img/s | ratio | MB all-reduced/step | buckets | all-reduce alone ms | backward alone / with DDP ms | hidden by backward |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|");
  const rows = one.map((a, i) => {
    const d = two[i];
    const exposed = Math.max(0, d.backwardMs - d.backwardAloneMs!);
    const hidden = Math.max(0, Math.min(1, 1 - exposed / d.allreduceMs!));
    lines.push(
      `| ${a.model} | ${a.imgPerSec.toFixed(1)} | ${d.imgPerSec.toFixed(1)} | ${(d.imgPerSec / a.imgPerSec).toFixed(2)} | ` +
        `${(d.bytes / 2 ** 20).toFixed(1)} | ${d.buckets} | ${d.allreduceMs!.toFixed(1)} | ` +
        `${d.backwardAloneMs!.toFixed(0)} / ${d.backwardMs.toFixed(0)} | ${(100 * hidden).toFixed(0)}% |`,
    );
    return { model: a.model, computeMs: d.stepMs - exposed, backwardMs: d.backwardAloneMs!, bytes: d.bytes, hidden };
  });
  lines.push(
    "",
    "Projected step efficiency (compute / step time) with this per-rank compute, ring all-reduce, 50 µs latency:",
  );
  lines.push(
    "| model | machines | 10 Gbit/s: comm ms, efficiency (no overlap / overlap) | 100 Gbit/s: comm ms, efficiency (no overlap / overlap) |",
  );
  lines.push("|---|---|---|---|");
  for (const r of rows)
    for (const n of [2, 8, 64]) {
      const cell = (g: number) => {
        const c = ringAllreduceMs(r.bytes, n, g);
        const none = r.computeMs / (r.computeMs + c);
        const overlap = r.computeMs / (r.computeMs + Math.max(0, c - r.backwardMs));
        return `${c.toFixed(1)} ms, ${(100 * none).toFixed(0)}% / ${(100 * overlap).toFixed(0)}%`;
      };
      lines.push(`| ${r.model} | ${n} | ${cell(10)} | ${cell(100)} |`);
    }
  write(`${lines.join("\n")}\n`);
}
