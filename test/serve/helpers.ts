// Serve test helpers: a small ER model run built in the test (ResNet-20 behind the aligned adaptation, random
// init: the protocol does not care what it learned), its reference logits through `ercnn evaluate`'s forward path
// (the Loader's normalisation + model.forward in eval mode), and an in-process server on 127.0.0.1, free port.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CipherKey } from "../../src/cipher/index.ts";
import { Loader, normalizationFor, Store } from "../../src/data/index.ts";
import { buildModel, loadCheckpoint, saveCheckpoint } from "../../src/models/index.ts";
import { type AppOptions, createApp, type ServeApp } from "../../src/serve/app.ts";
import { readModelInfo } from "../../src/serve/model-info.ts";
import { fromTypedArray, manualSeed, noGrad, tidy } from "../../src/torch/index.ts";
import { checkpointDir, runNormalization } from "../../src/train/index.ts";
import { writeSyntheticStore } from "../train/synthetic.ts";

export interface TestRun {
  run: string;
  train: string;
  test: string;
  size: number;
  classes: number;
}

/** Stores (train: for the statistics; test: what we send) and a run directory with best/ and config.json. */
export async function makeRun(
  dir: string,
  o: { key: CipherKey; size?: number; classes?: number; nTest?: number; seed?: number },
): Promise<TestRun> {
  const size = o.size ?? 16;
  const classes = o.classes ?? 4;
  const train = join(dir, "train");
  const test = join(dir, "test");
  await writeSyntheticStore(train, { n: 32, classes, size, key: o.key, seed: 1 });
  await writeSyntheticStore(test, { n: o.nTest ?? 24, classes, size, key: o.key, seed: 2 });
  const run = join(dir, "run");
  mkdirSync(run, { recursive: true });
  manualSeed(o.seed ?? 7);
  const model = buildModel({
    backbone: "resnet20",
    adapt: "aligned",
    blockSize: o.key.blockSize,
    classes,
    channels: 3,
  });
  const store = Store.open(train);
  await saveCheckpoint(join(run, "best"), model, {
    classNames: store.meta.classes,
    keyFingerprint: o.key.fingerprint,
    extra: { normalization: normalizationFor("store", store.meta) },
  });
  model.dispose();
  writeFileSync(join(run, "config.json"), JSON.stringify({ train, normalize: "store" }));
  return { run, train, test, size, classes };
}

/** Logits of every image of `storeDir` through evaluate's forward path (batches of `batchSize`). */
export async function referenceLogits(run: string, storeDir: string, batchSize = 8): Promise<Float32Array[]> {
  const { model, meta } = await loadCheckpoint(checkpointDir(run));
  model.eval();
  const store = Store.open(storeDir);
  const loader = await Loader.fromStore(store, {
    batchSize,
    shuffle: false,
    workers: 1,
    normalization: runNormalization(run, meta, store),
  });
  const rows: Float32Array[] = [];
  try {
    for await (const b of loader.iterateEpoch(0)) {
      const y = tidy(() => noGrad(() => model.forward(fromTypedArray(b.x, b.shape)).toFloat32Array()));
      const k = y.length / b.n;
      for (let i = 0; i < b.n; i++) rows.push(y.slice(i * k, (i + 1) * k));
    }
  } finally {
    await loader.close();
    model.dispose();
  }
  return rows;
}

export const DEFAULTS: AppOptions = {
  maxBatch: 64,
  maxQueueDelayUs: 2000,
  maxQueue: 256,
  timeoutMs: 30000,
  threads: 1,
  bodyLimit: 8 * 1024 * 1024,
  uiDir: null,
  cors: [],
  logLevel: false,
};

export async function startServer(
  runs: { dir: string; name?: string }[],
  o: Partial<AppOptions> = {},
): Promise<ServeApp & { url: string }> {
  const models = [];
  for (const r of runs) models.push(await readModelInfo(r.dir, r.name ? { name: r.name } : {}));
  const s = await createApp(models, { ...DEFAULTS, ...o });
  await s.app.listen({ host: "127.0.0.1", port: 0 });
  await s.service.worker.ready;
  const addr = s.app.server.address();
  if (!addr || typeof addr === "string") throw new Error("no address");
  return { ...s, url: `http://127.0.0.1:${addr.port}` };
}

/** One image's raw store values (N×C×H×W), images [a, b). */
export function storeImages(storeDir: string, a: number, b: number): { x: Float32Array; n: number; per: number } {
  const all = Store.open(storeDir).readAll();
  const per = all.x.length / all.n;
  return { x: all.x.slice(a * per, b * per), n: b - a, per };
}

/** A binary-extension request body. */
export function binaryBody(header: object, data: Uint8Array): { body: Buffer; headerLength: number } {
  const h = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([h, data]), headerLength: h.length };
}

export const bytesOf = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export interface ServeProcess {
  url: string;
  port: number;
  pid: number;
  exited: Promise<number | null>;
  out: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

/** `ercnn serve` as its own process on 127.0.0.1 (free port), resolved once it logs "ready". */
export async function spawnServe(args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, ["bin/ercnn.js", "serve", ...args, "--port", "0", "--no-ui"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stderr.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve not ready in 60 s: ${out}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /"msg":"ready"/.test(out) && /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      reject(new Error(`serve exited early: ${out}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid as number,
    exited,
    out: () => out,
    kill: (s) => child.kill(s),
  };
}

/** Resident memory of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}
