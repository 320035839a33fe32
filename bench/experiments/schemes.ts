/**
 * Schemes side by side (issue 29): for each learnable encryption at one block size, a fresh key, the encrypted
 * training and test stores, the same eavesdropper (schemes-eavesdropper.ts) and the same provider at one fixed budget
 * (schemes-providers.ts), plus the plain control of each provider network; writes results.json, table.md and
 * plot.svg (accuracy against the eavesdropper's decryption PSNR) under --out. Usage: bench/experiments/schemes.sh.
 * A finished row is kept beside its run (row.json, with the set-up it was measured under), so an interrupted run
 * goes on where it stopped: rows measured under the same set-up are reused, any other set-up redoes them; --fresh
 * redoes every row. The eavesdropper's half of a row (key, stores, attack: eaves.json) is kept the same way under
 * its own set-up, so a new provider budget retrains on the same key and stores without attacking again.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SCHEME_NAMES, type SchemeName } from "../../src/cipher/schemes/index.ts";
import { writeFileAtomic } from "../../src/core/atomic.ts";
import { loadSchemeKey } from "../../src/data/scheme-keyfile.ts";
import { EAVESDROPPER_BUDGET, type Eavesdropping, eavesdrop } from "./schemes-eavesdropper.ts";
import { type Budget, DATASETS, type DatasetPlan, type Network, PROVIDERS } from "./schemes-providers.ts";
import { type SchemeRow, schemesPlot, schemesTable } from "./schemes-report.ts";

const { values: a } = parseArgs({
  options: {
    dataset: { type: "string", default: "cifar10" },
    out: { type: "string" },
    schemes: { type: "string", default: SCHEME_NAMES.join(",") },
    limit: { type: "string" },
    epochs: { type: "string" },
    seed: { type: "string" },
    pool: { type: "string", default: "1000" },
    measured: { type: "string", default: "200" },
    pretrained: { type: "string" },
    fresh: { type: "boolean", default: false },
  },
});
const plan: DatasetPlan | undefined = DATASETS[a.dataset!];
if (!plan) throw new Error(`--dataset ${a.dataset}: not one of ${Object.keys(DATASETS).join(", ")}`);
/** A flag's positive whole number, or a clear error naming the flag. */
function count(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} ${v}: give a positive whole number`);
  return n;
}
const limit = count("limit", a.limit);
const budget: Budget = {
  ...plan.budget,
  train: Math.min(plan.budget.train, limit ?? Number.POSITIVE_INFINITY),
  test: Math.min(plan.budget.test, limit ?? Number.POSITIVE_INFINITY),
  epochs: count("epochs", a.epochs) ?? plan.budget.epochs,
};
// At smoke size, at least 4 steps per epoch (warm-up and schedules need steps).
budget.batchSize = Math.min(budget.batchSize, Math.max(16, Math.floor(budget.train / 4)));
const schemes = a.schemes!.split(",") as SchemeName[];
for (const s of schemes) if (!SCHEME_NAMES.includes(s)) throw new Error(`--schemes: unknown scheme ${s}`);
const out = a.out ?? join("runs", `schemes-${a.dataset}${limit ? `-limit${limit}` : ""}`);
mkdirSync(out, { recursive: true });
// The number of reference photos of the eavesdropper (which ones: the plan's `reference`).
const referenceImages = Math.min(5000, limit ?? 5000);
// The aligned network's pretrained backbone (the plan's, or --pretrained), which must exist before anything runs.
const pretrained = a.pretrained ?? plan.pretrained?.file ?? null;
if (pretrained && !existsSync(pretrained))
  throw new Error(
    `--pretrained ${pretrained} does not exist: ${a.pretrained ? "give a backbone file" : `make it with ${plan.pretrained!.make}`}`,
  );
/** What the eavesdropper's half of a row depends on besides its own fresh key (the stores and the attack's budget). */
const eavesSetup = {
  dataset: a.dataset,
  train: budget.train,
  test: budget.test,
  referenceImages,
  pool: a.pool,
  measured: a.measured,
  seed: a.seed ?? null,
  eavesdropper: EAVESDROPPER_BUDGET,
};
/** What a whole row depends on: a kept row is reused only under the same set-up. */
const setup = { ...eavesSetup, budget, pretrained };

/**
 * `measure()`'s result measured once: the one an earlier, interrupted run kept at `file` under `under`, else
 * measured now and kept there for the next run (a file that does not parse is measured again).
 */
async function once<T>(file: string, under: object, label: string, measure: () => Promise<T>): Promise<T> {
  if (!a.fresh && existsSync(file)) {
    try {
      const kept = JSON.parse(readFileSync(file, "utf8")) as { setup: unknown; value: T };
      if (JSON.stringify(kept.setup) === JSON.stringify(under)) {
        process.stdout.write(`${label}: kept from an earlier run under the same set-up (${file})\n`);
        return kept.value;
      }
    } catch {
      process.stdout.write(`${label}: ${file} does not parse; measuring again\n`);
    }
  }
  process.stdout.write(`${label}…\n`);
  const value = await measure();
  await writeFileAtomic(file, `${JSON.stringify({ setup: under, value }, null, 2)}\n`);
  return value;
}

function ercnn(args: string[], log: string): string {
  const r = spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  writeFileSync(log, `$ ercnn ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
  if (r.status !== 0) throw new Error(`ercnn ${args[0]} failed (exit ${r.status}; ${log}):\n${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/**
 * A store of the preset's images (`select`: the encrypt flags choosing them, a split or the plan's reference),
 * encrypted with `keyFile` or plain; returns the seconds it took.
 */
function store(dir: string, select: string[], n: number, keyFile: string | null): number {
  const t0 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  const keyArgs = keyFile ? ["-k", keyFile] : ["--plain"];
  ercnn(["encrypt", "--preset", plan!.preset, ...select, "--limit", String(n), ...keyArgs, "-o", dir], `${dir}.log`);
  return (performance.now() - t0) / 1000;
}

/** One provider run at the fixed budget; its test accuracy and wall time from final.json. */
function train(name: string, network: Network, trainStore: string, testStore: string) {
  const flags = plan!.trainFlags(network, budget, pretrained, plan!.blockSize);
  if (!flags) return { testAcc: null, trainSeconds: null, note: `no ${network} provider for ${a.dataset} yet` };
  const run = join(out, "runs", name);
  mkdirSync(join(out, "runs"), { recursive: true });
  rmSync(run, { recursive: true, force: true });
  ercnn(["train", trainStore, "--test", testStore, "-o", run, ...flags], `${run}.log`);
  const f = JSON.parse(readFileSync(join(run, "final.json"), "utf8"));
  return { testAcc: f.testAcc as number, trainSeconds: f.wallSeconds as number };
}

/** The eavesdropper's half of a row: a fresh key, its stores, the attack. */
interface Eavesdropped {
  fingerprint: string;
  eaves: Eavesdropping;
  encryptSeconds: number;
}

async function eavesdropScheme(
  scheme: SchemeName,
  dir: string,
  keyFile: string,
  reference: string,
): Promise<Eavesdropped> {
  // A fresh key from the system CSPRNG (or from --seed, for reproducible smoke runs only).
  const seedArgs = a.seed ? ["--seed", `${a.seed}-${scheme}`] : [];
  ercnn(
    ["keygen", "--scheme", scheme, "-b", String(plan!.blockSize), "-f", "-o", keyFile, ...seedArgs],
    `${dir}/keygen.log`,
  );
  const key = await loadSchemeKey(keyFile);
  const encryptSeconds = store(join(dir, "train"), ["--split", "train"], budget.train, keyFile);
  store(join(dir, "test"), ["--split", "test"], budget.test, keyFile);
  const eaves = eavesdrop({
    scheme,
    store: join(dir, "train"),
    keyFile,
    key,
    reference,
    pool: Math.min(count("pool", a.pool)!, budget.train),
    measured: Math.min(count("measured", a.measured)!, budget.train),
    auditJson: join(dir, "audit.json"),
  });
  return { fingerprint: key.fingerprint.slice(0, 16), eaves, encryptSeconds };
}

async function schemeRow(scheme: SchemeName, reference: string): Promise<SchemeRow> {
  const dir = join(out, scheme);
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, "key.json");
  // A kept eavesdropper row is only as good as the stores beside it.
  if (!existsSync(join(dir, "train", "meta.json")) || !existsSync(join(dir, "test", "meta.json")))
    rmSync(join(dir, "eaves.json"), { force: true });
  const e = await once(join(dir, "eaves.json"), eavesSetup, `${scheme}: key, stores, eavesdropper`, () =>
    eavesdropScheme(scheme, dir, keyFile, reference),
  );
  const network = PROVIDERS[scheme].network;
  process.stdout.write(`${scheme}: provider (${network})…\n`);
  const t = train(scheme, network, join(dir, "train"), join(dir, "test"));
  return { scheme, network, ...e, ...t };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const plainTrain = join(out, "plain", "train");
  const plainTest = join(out, "plain", "test");
  const reference = join(out, "plain", "reference");
  mkdirSync(join(out, "plain"), { recursive: true });
  if (!existsSync(join(plainTrain, "meta.json"))) store(plainTrain, ["--split", "train"], budget.train, null);
  if (!existsSync(join(plainTest, "meta.json"))) store(plainTest, ["--split", "test"], budget.test, null);
  if (!existsSync(join(reference, "meta.json"))) store(reference, plan!.reference, referenceImages, null);
  const rows: SchemeRow[] = [];
  for (const s of schemes) {
    rows.push(await once(join(out, s, "row.json"), setup, `${s}: the row`, () => schemeRow(s, reference)));
  }
  const plainAcc: Record<string, number | null> = {};
  for (const net of new Set(rows.map((r) => r.network as Network))) {
    const row = await once(join(out, "plain", `row-${net}.json`), setup, `plain control (${net})`, async () => ({
      scheme: "(plain)",
      network: net,
      fingerprint: null,
      eaves: null,
      encryptSeconds: null,
      ...train(`plain-${net}`, net, plainTrain, plainTest),
    }));
    plainAcc[net] = row.testAcc;
    rows.push(row);
  }
  const from = pretrained ? " (aligned: pretrained backbone)" : "";
  const title = `${a.dataset}, k = ${plan!.blockSize}: ${budget.train} training images × ${budget.epochs} epoch${budget.epochs === 1 ? "" : "s"}${from}`;
  const results = { dataset: a.dataset, blockSize: plan!.blockSize, budget, referenceImages, rows, plainAcc };
  await writeFileAtomic(join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  const table = schemesTable(rows, plainAcc);
  const why = schemes.map((s) => `- \`${s}\` → ${PROVIDERS[s].network}: ${PROVIDERS[s].why}`).join("\n");
  await writeFileAtomic(join(out, "table.md"), `## ${title}\n\n${table}\n\nProviders:\n${why}\n`);
  await writeFileAtomic(join(out, "plot.svg"), await schemesPlot(rows, plainAcc, title));
  process.stdout.write(
    `${table}\n\nwrote ${out}/table.md, plot.svg, results.json in ${((performance.now() - t0) / 60000).toFixed(1)} min\n`,
  );
}

await main();
