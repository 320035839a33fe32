// Load test of `ercnn serve` (loopback, binary tensor data, one 32×32 image per request) with autocannon, beside the
// bare model in the same run: ResNet-20 behind the aligned adaptation network (CIFAR size, random init: throughput
// does not depend on training). Prints, side by side:
//   - bare batched forward throughput (batch = --max-batch) and bare single-image forward latency (same threads);
//   - the service at 1, 8, 64, 256 concurrent clients: img/s, p50/p90/p99 latency, and the ratios to the bare model
//     (targets: ≥ 0.8× bare batched at 64 clients; p50 ≤ 2× bare single + 2 ms at 1 client);
//   - 10% malformed requests (truncated binary bodies) mixed in at 64 clients: good-request throughput vs clean;
//   - the server's own breakdown from /metrics (mean batch, queue and compute µs per request/batch);
//   - an RSS soak: --soak requests at 64 clients, the server's RSS every 10,000.
// Usage: node --import tsx bench/serve-load.ts [--duration 5] [--soak 100000] [--soak-every 10000] [--threads 1]
//        [--max-batch 64] [--max-queue-delay 2000] [--clients 1,8,64,256] [--device cpu|cuda|cuda:N]
// (--device: the server's and the bare model's)
// The server's CPU time per image (from /proc) beside the bare model's is the load-independent comparison on a
// shared machine, where wall-clock throughput depends on what else runs.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateKey } from "../src/cipher/index.ts";
import { buildModel, saveCheckpoint } from "../src/models/index.ts";
import { moduleTo, toDevice } from "../src/torch/device.ts";
import { fromTypedArray, manualSeed, noGrad, setNumThreads, tidy } from "../src/torch/index.ts";
import { deviceOption } from "./device-option.ts";

interface Histogram {
  p50: number;
  p90: number;
  p99: number;
}
interface CannonResult {
  latency: Histogram;
  duration: number;
  errors: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
// autocannon ships no types; this is the part of its documented API used here.
const autocannon = createRequire(import.meta.url)("autocannon") as (o: object) => Promise<CannonResult>;

const { values: a } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    soak: { type: "string", default: "100000" },
    "soak-every": { type: "string", default: "10000" },
    threads: { type: "string", default: "1" },
    "max-batch": { type: "string", default: "64" },
    "max-queue-delay": { type: "string", default: "2000" },
    clients: { type: "string", default: "1,8,64,256" },
    profile: { type: "boolean", default: false },
    device: { type: "string", default: "cpu" },
  },
});
const device = deviceOption(a.device);
const duration = Number(a.duration);
const soak = Number(a.soak);
const soakEvery = Number(a["soak-every"]);
const threads = Number(a.threads);
const maxBatch = Number(a["max-batch"]);
const C = 3;
const S = 32;
const PER = C * S * S;

// --- the model, saved as a checkpoint the server loads --------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), "ercnn-serve-bench-"));
const key = await generateKey({ blockSize: 4, seed: "serve-bench" });
manualSeed(0);
setNumThreads(threads);
const model = buildModel({ backbone: "resnet20", adapt: "aligned", blockSize: 4, classes: 10, channels: 3 });
const classNames = Array.from({ length: 10 }, (_, i) => `c${i}`);
await saveCheckpoint(join(dir, "best"), model, {
  classNames,
  keyFingerprint: key.fingerprint,
  extra: { normalization: { mean: [0, 0, 0], std: [1, 1, 1] } },
});
model.eval();
moduleTo(model, device);

// --- bare model ---------------------------------------------------------------------------------------------------
let cpuUsPerImage = 0;
function timeForward(n: number, iters: number): number[] {
  const x = new Float32Array(n * PER).map(() => Math.random() * 2 - 1);
  const out: number[] = [];
  let cpu = 0;
  for (let i = 0; i < iters + 3; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    tidy(() => noGrad(() => model.forward(toDevice(fromTypedArray(x, [n, C, S, S]), device)).toFloat32Array()));
    if (i >= 3) out.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    if (i >= 3) cpu += c.user + c.system;
  }
  cpuUsPerImage = cpu / (iters * n);
  return out.sort((p, q) => p - q);
}
const median = (v: number[]) => v[Math.floor(v.length / 2)];
function bare(when: string) {
  const batchMs = median(timeForward(maxBatch, 15));
  const batchedCpu = cpuUsPerImage;
  const single = median(timeForward(1, 200));
  console.log(`bare model ${when} (ResNet-20 + adaptation, 32×32, ${threads} thread(s)):`);
  console.log(
    `  batched forward (batch ${maxBatch}): ${((maxBatch / batchMs) * 1000).toFixed(0)} img/s (${batchMs.toFixed(1)} ms per batch)`,
  );
  console.log(`  single-image forward: ${single.toFixed(2)} ms (median of 200)`);
  console.log(
    `  CPU time per image: ${(batchedCpu / 1000).toFixed(2)} ms batched, ${(cpuUsPerImage / 1000).toFixed(2)} ms single`,
  );
  return { batched: (maxBatch / batchMs) * 1000, single };
}
const bare0 = bare("before the load runs");
let bareBatched = bare0.batched;
let bareSingleMs = bare0.single;

// --- the server (its own process, so the load generator does not share its event loop) ---------------------------
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const p = (probe.address() as { port: number }).port;
    probe.close(() => resolve(p));
  });
});
const profDir = join(dir, "profiles");
const server = spawn(
  process.execPath,
  [
    ...(a.profile ? ["--cpu-prof", "--cpu-prof-dir", profDir] : []),
    "bin/ercnn.js",
    "serve",
    dir,
    "--name",
    "m",
    "--input-size",
    "32",
    "--port",
    String(port),
    "--threads",
    String(threads),
    "--max-batch",
    String(maxBatch),
    "--max-queue-delay",
    String(a["max-queue-delay"]),
    "--max-queue",
    "4096",
    "--no-ui",
    "--device",
    device,
    "--log-level",
    "warn",
  ],
  { stdio: ["ignore", "ignore", "inherit"] },
);
const url = await new Promise<string>((resolve, reject) => {
  server.on("exit", (c) => reject(new Error(`server exited (${c})`)));
  const poll = setInterval(async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).catch(() => null);
    if (r?.status === 200) {
      clearInterval(poll);
      resolve(`http://127.0.0.1:${port}`);
    }
  }, 100);
});
/** The server process's CPU time so far (user + system), ms, from /proc (100 ticks per second). */
const serverCpuMs = () => {
  const f = readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};
const rssMiB = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

function body(truncate = false) {
  const x = new Float32Array(PER).map(() => Math.random() * 2 - 1);
  const data = Buffer.from(x.buffer);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: "input", shape: [1, C, S, S], datatype: "FP32", parameters: { binary_data_size: data.length } }],
      outputs: [{ name: "probabilities", parameters: { classification: 1 } }],
    }),
  );
  const b = Buffer.concat([header, truncate ? data.subarray(0, 100) : data]);
  return {
    method: "POST" as const,
    path: "/v2/models/m/infer",
    body: b,
    headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) },
  };
}

async function load(connections: number, o: { malformed?: boolean; amount?: number } = {}) {
  const requests = Array.from({ length: 10 }, (_, i) => body(o.malformed === true && i === 9));
  const r = await autocannon({
    url,
    connections,
    ...(o.amount ? { amount: o.amount } : { duration }),
    requests,
    timeout: 30,
  });
  const good = r.statusCodeStats["200"]?.count ?? 0;
  const bad = r.statusCodeStats["400"]?.count ?? 0;
  return { r, good: Number(good), bad: Number(bad), seconds: r.duration };
}
const metric = async (name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name}\\{model="m"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
};
const snapshot = async () => ({
  count: await metric("nv_inference_count"),
  exec: await metric("nv_inference_exec_count"),
  queue: await metric("nv_inference_queue_duration_us"),
  compute: await metric("nv_inference_compute_infer_duration_us"),
  request: await metric("nv_inference_request_duration_us"),
  success: await metric("nv_inference_request_success"),
});

await load(8, { amount: 2000 }); // warm-up
let at64 = 0;
let p50at1 = 0;
console.log(
  `\nservice (binary protocol, 1 image/request, --max-batch ${maxBatch}, --max-queue-delay ${a["max-queue-delay"]} µs, ${duration} s each):`,
);
console.log(
  "clients  img/s   p50 ms  p90 ms  p99 ms  mean batch  queue µs/req  compute ms/batch  server CPU ms/img   vs bare before  errors",
);
for (const c of a.clients.split(",").map(Number)) {
  const s0 = await snapshot();
  const cpu0 = serverCpuMs();
  const { r, good, seconds } = await load(c);
  const cpuPerImg = (serverCpuMs() - cpu0) / Math.max(1, good);
  const s1 = await snapshot();
  const ips = good / seconds;
  const batch = (s1.count - s0.count) / Math.max(1, s1.exec - s0.exec);
  const queue = (s1.queue - s0.queue) / Math.max(1, s1.success - s0.success);
  const compute = (s1.compute - s0.compute) / Math.max(1, s1.exec - s0.exec) / 1000;
  if (c === 64) at64 = ips;
  if (c === 1) p50at1 = r.latency.p50;
  const line = `${String(c).padStart(7)}  ${ips.toFixed(0).padStart(6)}  ${r.latency.p50.toFixed(1).padStart(6)}  ${r.latency.p90.toFixed(1).padStart(6)}  ${r.latency.p99.toFixed(1).padStart(6)}  ${batch.toFixed(1).padStart(10)}  ${queue.toFixed(0).padStart(12)}  ${compute.toFixed(2).padStart(16)}  ${cpuPerImg.toFixed(2).padStart(17)}  ${(ips / bareBatched).toFixed(2).padStart(14)}×  ${r.errors + r.non2xx}`;
  console.log(line);
}
const bare1 = bare("after the load runs");
bareBatched = (bare0.batched + bare1.batched) / 2;
bareSingleMs = (bare0.single + bare1.single) / 2;
console.log(
  `bare model, mean of before and after: ${bareBatched.toFixed(0)} img/s batched, ${bareSingleMs.toFixed(2)} ms single`,
);
if (at64)
  console.log(
    `target: 64 clients ≥ 0.8× bare batched: ${(at64 / bareBatched).toFixed(2)}× (${at64 >= 0.8 * bareBatched ? "met" : "missed"})`,
  );
if (p50at1)
  console.log(
    `target: 1 client p50 ≤ 2× bare single + 2 ms = ${(2 * bareSingleMs + 2).toFixed(2)} ms: ${p50at1.toFixed(2)} ms (${p50at1 <= 2 * bareSingleMs + 2 ? "met" : "missed"})`,
  );

// --- 10% malformed --------------------------------------------------------------------------------------------------
// Whole cycles of the 10-request sequence per connection, so exactly 1 in 10 is malformed.
const clean = await load(64, { amount: 64 * 10 });
const mixed = await load(64, { malformed: true, amount: 64 * 10 });
const cleanIps = clean.good / clean.seconds;
const mixedIps = mixed.good / mixed.seconds;
const expectedBad = Math.round((mixed.good + mixed.bad) / 10);
console.log(
  `\n10% malformed (truncated binary bodies) at 64 clients: good ${mixedIps.toFixed(0)} img/s vs clean ${cleanIps.toFixed(0)} img/s ` +
    `(${(mixedIps / cleanIps).toFixed(2)}×); ${mixed.bad} answered 400 of ${mixed.good + mixed.bad}, ${expectedBad} malformed sent; ` +
    `other failures: ${mixed.r.errors + mixed.r.non2xx - mixed.bad}`,
);

// --- soak ------------------------------------------------------------------------------------------------------------
if (soak > 0) {
  console.log(`\nsoak: ${soak} requests at 64 clients, server RSS every ${soakEvery}:`);
  console.log(`  start: ${rssMiB().toFixed(1)} MiB`);
  const t0 = performance.now();
  for (let done = 0; done < soak; done += soakEvery) {
    const { good, r } = await load(64, { amount: Math.min(soakEvery, soak - done) });
    console.log(
      `  ${String(done + Math.min(soakEvery, soak - done)).padStart(6)} requests: RSS ${rssMiB().toFixed(1)} MiB (${good} ok, ${r.errors + r.non2xx} failed)`,
    );
  }
  console.log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

model.dispose();
server.kill("SIGTERM");
await new Promise((r) => server.on("exit", r));
if (a.profile) printProfiles(profDir);
rmSync(dir, { recursive: true, force: true });

/** Self time by function in each V8 CPU profile the server wrote (main thread; the worker's if it was written). */
function printProfiles(folder: string): void {
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }
  for (const f of readdirSync(folder).filter((n) => n.endsWith(".cpuprofile"))) {
    const prof = JSON.parse(readFileSync(join(folder, f), "utf8")) as {
      nodes: Node[];
      startTime: number;
      endTime: number;
    };
    const total = prof.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
    const by = new Map<string, number>();
    for (const n of prof.nodes) {
      const file = n.callFrame.url.split("/").slice(-2).join("/");
      const key = `${n.callFrame.functionName || "(anonymous)"} ${file}${file ? `:${n.callFrame.lineNumber + 1}` : ""}`;
      by.set(key, (by.get(key) ?? 0) + (n.hitCount ?? 0));
    }
    const seconds = (prof.endTime - prof.startTime) / 1e6;
    console.log(`\nprofile ${f} (${seconds.toFixed(0)} s, ${total} samples), top self time:`);
    for (const [k, v] of [...by].sort((x, y) => y[1] - x[1]).slice(0, 14))
      console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}
