/**
 * Cipher encryption throughput (images/s), ercnn vs a vectorised numpy version of the same math, in the same run,
 * single thread. Run: node --import tsx bench/cipher.ts [--seconds S] [--markdown]
 *
 * - ercnn TS: src/cipher encrypt() (WebAssembly SIMD kernel assembled from TypeScript, float64 accumulation)
 * - ercnn TS (plain JS loops): the fallback without WebAssembly
 * - ercnn libtorch bulk: bench/cipher-torch.ts (batched matmul / conv form), when the binding loads
 * - numpy float32 (sgemm) and numpy float64 (the study's math, float64 key) via /usr/bin/python3 bench/cipher_numpy.py
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { cipherBackend, encrypt, generateKey, type ImageDims, setCipherBackend } from "../src/cipher/index.ts";

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf("--seconds") + 1]) || 3;
const ROUNDS = 3;
const CONFIGS = [
  { n: 256, h: 32, k: 4 },
  { n: 16, h: 224, k: 8 },
];

function rate(fn: () => void, images: number): number {
  fn();
  let best = 0;
  for (let t = 0; t < 2; t++) {
    const t0 = performance.now();
    let reps = 0;
    let dt = 0;
    do {
      fn();
      reps++;
      dt = (performance.now() - t0) / 1000;
    } while (dt < seconds / ROUNDS / 2);
    best = Math.max(best, reps / dt);
  }
  return best * images;
}

function randomData(len: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 4294967296;
  }
  return out;
}

type Row = { config: string; results: Record<string, number> };
const rows: Row[] = CONFIGS.map((c) => ({ config: `${c.h}×${c.h}, k=${c.k} (batch ${c.n})`, results: {} }));

// numpy and ercnn measured in alternating rounds (best of each), so background load affects both alike.
function runNumpy(threads = 1, suffix = ""): void {
  const t = String(threads);
  const py = spawnSync(
    "/usr/bin/python3",
    [join(import.meta.dirname, "cipher_numpy.py"), JSON.stringify(CONFIGS), String(seconds / ROUNDS)],
    {
      encoding: "utf8",
      env: { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t },
    },
  );
  if (py.status !== 0) {
    console.error(`numpy benchmark failed:\n${py.stderr}`);
    process.exit(1);
  }
  for (const line of py.stdout.trim().split("\n")) {
    const r = JSON.parse(line) as { h: number; k: number; variant: string; img_per_s: number };
    const i = CONFIGS.findIndex((c) => c.h === r.h && c.k === r.k);
    record(i, `numpy ${r.variant}${suffix}`, r.img_per_s);
  }
}
function record(i: number, name: string, v: number): void {
  rows[i].results[name] = Math.max(rows[i].results[name] ?? 0, v);
}

// torch binding, if present
type TorchMod = typeof import("./cipher-torch.ts");
let torch: TorchMod | null = null;
try {
  const t = await import("../src/torch/index.ts");
  t.setNumThreads(1);
  torch = await import("./cipher-torch.ts");
} catch (e) {
  console.error(`libtorch binding not available, skipping the bulk path (${(e as Error).message.split("\n")[0]})`);
}

const keys = await Promise.all(CONFIGS.map((c) => generateKey({ blockSize: c.k, seed: "bench" })));
for (let round = 0; round < ROUNDS; round++) {
  runNumpy();
  for (const [i, c] of CONFIGS.entries()) {
    const key = keys[i];
    const dims: ImageDims = { n: c.n, c: 3, h: c.h, w: c.h, layout: "CHW" };
    const x = randomData(c.n * 3 * c.h * c.h, 1);
    const out = new Float32Array(x.length);
    setCipherBackend("auto");
    record(
      i,
      `ercnn TS (${cipherBackend()})`,
      rate(() => encrypt(x, dims, key, out), c.n),
    );
    if (round === 0) {
      setCipherBackend("js");
      record(
        i,
        "ercnn TS (plain JS)",
        rate(() => encrypt(x, dims, key, out), c.n),
      );
      setCipherBackend("auto");
    }
    if (torch) {
      for (const method of ["matmul", "conv"] as const) {
        const tc = new torch.TorchCipher(key, { method });
        record(
          i,
          `ercnn libtorch ${method} f32`,
          rate(() => tc.encrypt(x, dims, out), c.n),
        );
        tc.dispose();
      }
      // the same matmul over the whole batch at once (before chunking): what cache-sized chunks buy
      const whole = new torch.TorchCipher(key, { method: "matmul", chunkBytes: 0 });
      record(
        i,
        "ercnn libtorch matmul f32 whole batch",
        rate(() => whole.encrypt(x, dims, out), c.n),
      );
      whole.dispose();
    }
  }
}

const cols = [...new Set(rows.flatMap((r) => Object.keys(r.results)))];
const fmt = (v: number | undefined) =>
  v === undefined ? "—" : v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(0);
const header = ["config", ...cols.map((c) => `${c} img/s`), "TS / numpy f32", "TS / numpy f64"];
const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
for (const r of rows) {
  const ts = r.results[`ercnn TS (${cipherBackend()})`];
  const ratio = (k: string) => (r.results[k] ? `${(ts / r.results[k]).toFixed(2)}×` : "—");
  lines.push(
    `| ${[r.config, ...cols.map((c) => fmt(r.results[c])), ratio("numpy float32"), ratio("numpy float64")].join(" | ")} |`,
  );
}
if (torch) {
  for (const r of rows) {
    const best = Math.max(r.results["ercnn libtorch matmul f32"] ?? 0, r.results["ercnn libtorch conv f32"] ?? 0);
    lines.push(
      `\nlibtorch bulk (best of matmul/conv) / numpy float32, ${r.config}: ${(best / r.results["numpy float32"]).toFixed(2)}×`,
    );
  }
}
// The bulk path exists to use the engine's threads: compare it on the whole machine, numpy's BLAS with as many
// threads (numpy's transposes stay single-threaded; that is numpy's design, not a handicap we add).
const bulkLines: string[] = [];
if (torch) {
  const all = availableParallelism();
  const t = await import("../src/torch/index.ts");
  t.setNumThreads(all);
  const tag = ` (${all} threads)`;
  for (let round = 0; round < ROUNDS; round++) {
    runNumpy(all, tag);
    for (const [i, c] of CONFIGS.entries()) {
      const dims: ImageDims = { n: c.n, c: 3, h: c.h, w: c.h, layout: "CHW" };
      const x = randomData(c.n * 3 * c.h * c.h, 1);
      const out = new Float32Array(x.length);
      for (const method of ["matmul", "conv"] as const) {
        const tc = new torch.TorchCipher(keys[i], { method });
        record(
          i,
          `ercnn libtorch ${method} f32${tag}`,
          rate(() => tc.encrypt(x, dims, out), c.n),
        );
        tc.dispose();
      }
    }
  }
  bulkLines.push(`\nwhole machine (${all} threads on both sides):\n`);
  bulkLines.push(
    "| config | numpy float32 img/s | ercnn libtorch matmul img/s | ercnn libtorch conv img/s | bulk / numpy |",
  );
  bulkLines.push("|---|---|---|---|---|");
  for (const r of rows) {
    const np = r.results[`numpy float32${tag}`];
    const mm = r.results[`ercnn libtorch matmul f32${tag}`];
    const cv = r.results[`ercnn libtorch conv f32${tag}`];
    bulkLines.push(
      `| ${r.config} | ${fmt(np)} | ${fmt(mm)} | ${fmt(cv)} | **${(Math.max(mm, cv) / np).toFixed(2)}×** |`,
    );
    for (const k of Object.keys(r.results)) if (k.endsWith(tag)) delete r.results[k];
  }
}

console.log(
  `single thread; CHW float32 images; best of ${ROUNDS} alternating rounds (numpy, ercnn), ${seconds}s per method in total\n`,
);
console.log(lines.join("\n"));
console.log(bulkLines.join("\n"));
