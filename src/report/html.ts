/**
 * One self-contained HTML report for a run directory or a sweep of them: inline CSS, charts as inline SVG, pictures
 * as data: URIs — the page makes no external requests.
 *
 * A run directory (written by the trainer) may hold config.json, metrics.jsonl (one JSON object per line:
 * {round, epoch, split: "train"|"val"|"test", loss, acc, lr, imgPerSec, psnr, ssim, mapError, seconds}, fields
 * optional), final.json ({testAcc, bestValAcc, bestEpoch, round, wallSeconds, psnr, ssim, ...}) and
 * pictures/*.png. Whatever is missing or unreadable is named on the page instead of failing the report.
 *
 * The page opens with a headline (the numbers a newcomer came for), then the sections; every field is shown with a
 * human label and its unit (FIELD_LABELS), axes do not magnify noise (honestDomain) and epochs are integer ticks.
 *
 * Accuracies are taken as fractions when every value is ≤ 1 (what the trainer writes) and shown as percentages.
 * Curves use a global epoch axis: the rounds are concatenated (round r starts after the last epoch of round r−1)
 * and dashed lines mark the round boundaries.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import { barChart, honestDomain, type LineSeries, lineChart } from "./plots.ts";
import { type Cell, type Column, formatCell, type Row, toCsv } from "./table.ts";

export interface MetricRow {
  round?: number;
  epoch?: number;
  split?: string;
  loss?: number;
  acc?: number;
  lr?: number;
  imgPerSec?: number;
  psnr?: number;
  ssim?: number;
  psnrRaw?: number;
  mapError?: number;
  seconds?: number;
  [k: string]: unknown;
}

export interface RunData {
  dir: string;
  name: string;
  config: Record<string, unknown> | null;
  metrics: MetricRow[];
  final: Record<string, unknown> | null;
  pictures: { name: string; png: Buffer }[];
  /** Human-readable notes on missing or unreadable parts. */
  problems: string[];
}

const KEY_MATERIAL = /^(key|keys|keyValues|keyMatrix|values)$/i;

function readJsonFile(path: string, label: string, problems: string[]): Record<string, unknown> | null {
  if (!existsSync(path)) {
    problems.push(`${label} is missing`);
    return null;
  }
  try {
    const v = JSON.parse(readFileSync(path, "utf8"));
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      problems.push(`${label} is not a JSON object`);
      return null;
    }
    return v as Record<string, unknown>;
  } catch (e) {
    problems.push(`${label} is unreadable (${(e as Error).message})`);
    return null;
  }
}

/** Natural order for picture names: numbers compared numerically, "final" last. */
function pictureOrder(a: string, b: string): number {
  const fa = a.startsWith("final") ? 1 : 0;
  const fb = b.startsWith("final") ? 1 : 0;
  if (fa !== fb) return fa - fb;
  return a.localeCompare(b, "en", { numeric: true });
}

/** Read what there is of a run directory. */
export function loadRun(dir: string): RunData {
  const problems: string[] = [];
  const name = basename(resolve(dir));
  const run: RunData = { dir, name, config: null, metrics: [], final: null, pictures: [], problems };
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    problems.push(`run directory ${dir} does not exist`);
    return run;
  }
  run.config = readJsonFile(join(dir, "config.json"), "config.json", problems);
  run.final = readJsonFile(join(dir, "final.json"), "final.json (the run has not finished?)", problems);
  const mpath = join(dir, "metrics.jsonl");
  if (existsSync(mpath)) {
    let bad = 0;
    for (const line of readFileSync(mpath, "utf8").split(/\r?\n/)) {
      if (line.trim() === "") continue;
      try {
        const v = JSON.parse(line);
        if (v && typeof v === "object" && !Array.isArray(v)) run.metrics.push(v as MetricRow);
        else bad++;
      } catch {
        bad++;
      }
    }
    if (bad > 0) problems.push(`metrics.jsonl: ${bad} unreadable line(s) skipped`);
    if (run.metrics.length === 0) problems.push("metrics.jsonl has no entries");
  } else {
    problems.push("metrics.jsonl is missing");
  }
  const pdir = join(dir, "pictures");
  if (existsSync(pdir) && statSync(pdir).isDirectory()) {
    const names = readdirSync(pdir)
      .filter((f) => f.toLowerCase().endsWith(".png"))
      .sort(pictureOrder);
    for (const f of names) {
      try {
        run.pictures.push({ name: f, png: readFileSync(join(pdir, f)) });
      } catch (e) {
        problems.push(`pictures/${f} is unreadable (${(e as Error).message})`);
      }
    }
    if (names.length === 0) problems.push("no decryption pictures (pictures/*.png)");
  } else {
    problems.push("no pictures/ directory");
  }
  return run;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function isFractionScale(values: number[]): boolean {
  return values.every((v) => v <= 1.000001);
}

/** Human labels (with units where the value has one) for the fields of final.json, config.json and metrics. */
const FIELD_LABELS: Record<string, string> = {
  testAcc: "test accuracy",
  testLoss: "test loss (cross-entropy)",
  bestValAcc: "best validation accuracy",
  bestRound: "round of the best checkpoint",
  bestEpoch: "epoch of the best checkpoint",
  round: "round of the best checkpoint",
  wallSeconds: "training time",
  trainImages: "training images",
  valImages: "validation images",
  testImages: "test images",
  keyFingerprint: "key fingerprint",
  psnr: "adaptation output PSNR (affine-fitted to the plaintext)",
  ssim: "adaptation output SSIM (affine-fitted, 1 = identical)",
  psnrRaw: "adaptation output PSNR without the fit",
  mapError: "adaptation map vs K⁻¹ (relative error)",
  reid: "adaptation outputs re-identified among the kept samples (fraction)",
  edgeCorrelation: "no attack: ciphertext block activity vs plaintext edges (correlation)",
  backbone: "backbone",
  adapt: "adaptation network",
  adaptInit: "adaptation initialisation",
  blockSize: "block size k (pixels)",
  lr: "learning rate",
  batchSize: "batch size (images)",
  epochs: "epochs per round",
  rounds: "rounds",
  optimizer: "optimizer",
  momentum: "momentum",
  weightDecay: "weight decay",
  schedule: "learning-rate schedule",
  warmupEpochs: "warm-up (epochs)",
  labelSmoothing: "label smoothing",
  normalize: "input normalisation",
  augment: "augmentation",
  train: "training store",
  test: "test store",
  out: "run directory",
  seed: "seed",
  evalKey: "evaluation key (measurement only)",
  valFraction: "validation fraction",
  dataset: "dataset",
  imgPerSec: "throughput (images/s)",
  seconds: "time (s)",
};

/** The human label of a field: from FIELD_LABELS, else its camelCase name spelled out ("warmupEpochs" → "warmup epochs"). */
export function fieldLabel(key: string): string {
  return (
    FIELD_LABELS[key] ??
    key
      .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
      .replace(/_/g, " ")
      .toLowerCase()
  );
}

function fmtSeconds(v: number): string {
  return v >= 120 ? `${(v / 60).toFixed(1)} min (${v.toFixed(0)} s)` : `${v.toFixed(1)} s`;
}

/** "2.4 min" or "45 s". */
function minutesText(v: number): string {
  return v >= 90 ? `${(v / 60).toFixed(1)} min` : `${v.toFixed(0)} s`;
}

function fmtValue(key: string, v: unknown, accFraction: boolean): string {
  if (typeof v === "number") {
    if (/acc/i.test(key) && Number.isFinite(v)) return accFraction ? `${(100 * v).toFixed(2)}%` : `${v.toFixed(2)}%`;
    if (/psnr/i.test(key) && Number.isFinite(v)) return `${v.toFixed(2)} dB`;
    if (/seconds/i.test(key) && Number.isFinite(v)) return fmtSeconds(v);
    if (/images$/i.test(key) && Number.isInteger(v)) return v.toLocaleString("en-US");
    return Number.isInteger(v) || !Number.isFinite(v) ? formatCell(v) : String(Number(v.toPrecision(4)));
  }
  if (v === null || v === undefined) return "—";
  if (typeof v === "object") return JSON.stringify(v);
  if (/fingerprint/i.test(key) && typeof v === "string" && v.length > 16) return `${v.slice(0, 16)}…`;
  return String(v);
}

/** A field/value table; unset options (null) and final.json's `round` (a copy of bestRound) are left out. */
function kvTable(obj: Record<string, unknown>, accFraction: boolean): string {
  const rows = Object.entries(obj)
    .filter(([k, v]) => !(KEY_MATERIAL.test(k) && typeof v === "object" && v !== null))
    .filter(([k, v]) => v !== null && v !== undefined && !(k === "round" && obj.bestRound === v))
    .map(
      ([k, v]) =>
        `<tr><th title="${escapeHtml(k)}">${escapeHtml(fieldLabel(k))}</th><td>${escapeHtml(fmtValue(k, v, accFraction))}</td></tr>`,
    );
  return `<table class="kv">${rows.join("")}</table>`;
}

/** Global epoch index per metric row (rounds concatenated) and the round boundaries. */
function globalEpochs(metrics: MetricRow[]): {
  x: (m: MetricRow) => number | undefined;
  boundaries: { x: number; label: string }[];
} {
  const lastEpoch = new Map<number, number>();
  for (const m of metrics) {
    const r = num(m.round) ?? 1;
    const e = num(m.epoch);
    if (e !== undefined) lastEpoch.set(r, Math.max(lastEpoch.get(r) ?? 0, e));
  }
  const rounds = [...lastEpoch.keys()].sort((a, b) => a - b);
  const offset = new Map<number, number>();
  let acc = 0;
  const boundaries: { x: number; label: string }[] = [];
  rounds.forEach((r, i) => {
    offset.set(r, acc);
    if (i > 0) boundaries.push({ x: acc + 0.5, label: `round ${r}` });
    acc += lastEpoch.get(r)!;
  });
  return {
    x: (m) => {
      const e = num(m.epoch);
      if (e === undefined) return undefined;
      return (offset.get(num(m.round) ?? 1) ?? 0) + e;
    },
    boundaries,
  };
}

const SPLIT_NAMES: Record<string, string> = { train: "training", val: "validation", test: "test" };

/** How each curve's y axis is kept honest: its bounds and the smallest span it may show. */
interface AxisRule {
  minSpan: number;
  bounds?: [number, number];
}

/** The per-epoch curves of a run page, in order: field, title, y label, how the y axis stays honest, splits. */
const CURVES: { field: string; title: string; yLabel: string; axis: AxisRule; splits?: string[] }[] = [
  { field: "acc", title: "Accuracy", yLabel: "accuracy (%)", axis: { minSpan: 50, bounds: [0, 100] } },
  { field: "loss", title: "Loss", yLabel: "loss (cross-entropy)", axis: { minSpan: 0.5, bounds: [0, Infinity] } },
  {
    field: "psnr",
    title: "Decryption PSNR (affine-fitted adaptation output)",
    yLabel: "PSNR (dB)",
    axis: { minSpan: 10, bounds: [0, Infinity] },
    splits: ["val", "train", "test"],
  },
  {
    field: "ssim",
    title: "Decryption SSIM",
    yLabel: "SSIM (1 = identical)",
    axis: { minSpan: 0.5, bounds: [-1, 1] },
    splits: ["val", "train", "test"],
  },
  {
    field: "mapError",
    title: "Adaptation map vs K⁻¹ (relative error)",
    yLabel: "relative error",
    axis: { minSpan: 0.5, bounds: [0, Infinity] },
    splits: ["val", "train", "test"],
  },
];

async function curve(
  run: RunData,
  field: string,
  title: string,
  yLabel: string,
  scale: number,
  axis: AxisRule,
  splits: string[] = ["train", "val"],
): Promise<string | null> {
  const { x, boundaries } = globalEpochs(run.metrics);
  const series: LineSeries[] = [];
  for (const split of splits) {
    const points = run.metrics
      .filter((m) => (m.split ?? "") === split && num(m[field]) !== undefined && x(m) !== undefined)
      .map((m) => ({ x: x(m)!, y: num(m[field])! * scale }));
    if (points.length > 0) series.push({ name: SPLIT_NAMES[split] ?? split, points });
  }
  if (series.length === 0) return null;
  const plot = await lineChart({
    series,
    title,
    xLabel: boundaries.length ? "epoch (rounds one after another)" : "epoch",
    yLabel,
    rules: boundaries,
    integerX: true,
    yDomain: honestDomain(
      series.flatMap((s) => s.points.map((p) => p.y)),
      axis,
    ),
  });
  return plot.svg;
}

/** "round-2-epoch-3.png" → "round 2, epoch 3"; "final.png" → "final model". */
function pictureCaption(name: string, rounds: number): string {
  const m = /round-(\d+)-epoch-(\d+)/.exec(name);
  if (m) return rounds > 1 ? `round ${m[1]}, epoch ${m[2]}` : `after epoch ${m[2]}`;
  const r = /^round-(\d+)\.png$/i.exec(name);
  if (r) return `end of round ${r[1]}`;
  if (name.startsWith("final")) return "final model (best checkpoint)";
  return name.replace(/\.png$/i, "");
}

function picturesHtml(run: RunData): string {
  if (run.pictures.length === 0) return "";
  const rounds = new Set(run.metrics.map((m) => num(m.round) ?? 1)).size;
  const figs = run.pictures.map(
    (p) =>
      `<figure><img alt="${escapeHtml(p.name)}" src="data:image/png;base64,${p.png.toString("base64")}"><figcaption title="${escapeHtml(p.name)}">${escapeHtml(pictureCaption(p.name, rounds))}</figcaption></figure>`,
  );
  return (
    `<h3>What the provider sees: the adaptation network's output</h3><p class="note">Each row: the ciphertext the ` +
    "provider holds (min-max scaled to be visible) | the adaptation network's output, affine-fitted per channel to " +
    "the plaintext | the plaintext (shown for measurement only; the provider never has it).</p>" +
    `<div class="pics">${figs.join("")}</div>`
  );
}

async function runSection(run: RunData, id: string): Promise<string> {
  const accValues = run.metrics.map((m) => num(m.acc)).filter((v): v is number => v !== undefined);
  const finalAcc = ["testAcc", "bestValAcc"]
    .map((k) => num(run.final?.[k]))
    .filter((v): v is number => v !== undefined);
  const accFraction = isFractionScale([...accValues, ...finalAcc]);
  const parts: string[] = [`<section id="${id}"><h2>${escapeHtml(run.name)}</h2>`];
  parts.push(`<p class="path">${escapeHtml(run.dir)}</p>`);
  if (run.problems.length > 0) {
    parts.push(`<ul class="problems">${run.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul>`);
  }
  if (run.final) parts.push(`<h3>Final numbers</h3>${kvTable(run.final, accFraction)}`);
  const charts: string[] = [];
  for (const c of CURVES) {
    const acc = c.field === "acc";
    const axis: AxisRule = acc && !accFraction ? { ...c.axis, bounds: [0, Math.max(100, ...accValues)] } : c.axis;
    const svg = await curve(run, c.field, c.title, c.yLabel, acc && accFraction ? 100 : 1, axis, c.splits);
    if (svg) charts.push(`<div class="chart">${svg}</div>`);
  }
  if (charts.length > 0) parts.push(`<h3>Curves</h3><div class="charts">${charts.join("")}</div>`);
  else if (run.metrics.length > 0) parts.push(`<p class="note">metrics.jsonl has no plottable per-epoch values</p>`);
  parts.push(picturesHtml(run));
  if (run.config)
    parts.push(
      `<details><summary><h3>Configuration (every option of the run)</h3></summary>${kvTable(run.config, accFraction)}</details>`,
    );
  parts.push("</section>");
  return parts.join("\n");
}

/** The eavesdropper's ciphertext-only attack, as the demo (or any caller) measured it. */
export interface AttackSummary {
  /** Decryption PSNR of the estimated key (dB, clipped to [0, 1], no fit) against the plaintexts. */
  psnr: number;
  /** Images the PSNR was measured on. */
  images: number;
  seconds: number;
  /** What was attacked and what plain photos the attacker used, in words. */
  encrypted: string;
  reference: string;
  /** ciphertext | attack decryption | plaintext rows. */
  picture?: Buffer;
}

function attackSection(a: AttackSummary): string {
  const pic = a.picture
    ? `<figure><img alt="attack decryption" src="data:image/png;base64,${a.picture.toString("base64")}"><figcaption>ciphertext | decrypted with the estimated key | plaintext</figcaption></figure>`
    : "";
  return (
    `<section id="attack"><h2>The eavesdropper's ciphertext-only attack</h2>` +
    `<p>Without the key and without a single plaintext of the encrypted images, the attacker matched the block ` +
    `statistics of the ciphertexts (${escapeHtml(a.encrypted)}) with those of ordinary photos ` +
    `(${escapeHtml(a.reference)}) and estimated the key in ${escapeHtml(fmtSeconds(a.seconds))}. Decrypted with that ` +
    `estimate, the images come back at <strong>${a.psnr.toFixed(1)} dB PSNR</strong> (measured on ` +
    `${a.images.toLocaleString("en-US")} images; above about 30 dB a picture looks like the original): ` +
    "the block cipher hides images only from someone who has never seen photos.</p>" +
    `<div class="pics">${pic}</div></section>`
  );
}

/** The numbers a newcomer came for, first: accuracy on ciphertexts, what the adaptation output shows, the attack. */
function headline(run: RunData | null, attack: AttackSummary | undefined): string {
  const tiles: string[] = [];
  const f = run?.final;
  const tile = (big: string, text: string) =>
    `<div class="tile"><div class="big">${escapeHtml(big)}</div><div>${escapeHtml(text)}</div></div>`;
  if (f) {
    const acc = num(f.testAcc) ?? num(f.bestValAcc);
    const which = num(f.testAcc) !== undefined ? "test" : "validation";
    const n = num(f.testAcc) !== undefined ? num(f.testImages) : num(f.valImages);
    const epochs = run?.metrics.filter((m) => m.split === "train").length;
    const time = num(f.wallSeconds);
    const how = [epochs ? `${epochs} epochs` : "", time !== undefined ? `in ${minutesText(time)}` : ""].filter(Boolean);
    if (acc !== undefined)
      tiles.push(
        tile(
          `${(acc <= 1 ? 100 * acc : acc).toFixed(1)}%`,
          `${which} accuracy on ${n !== undefined ? `${n.toLocaleString("en-US")} ` : ""}encrypted images, after ` +
            `training on ciphertexts only${how.length ? ` (${how.join(" ")})` : ""}`,
        ),
      );
    const p = num(f.psnr);
    if (p !== undefined)
      tiles.push(
        tile(
          `${p.toFixed(1)} dB`,
          `PSNR of the adaptation network's output against the plaintext${num(f.ssim) !== undefined ? ` (SSIM ${num(f.ssim)!.toFixed(2)})` : ""}: ` +
            "what the provider could see by looking at its own model",
        ),
      );
  }
  if (attack)
    tiles.push(
      tile(
        `${attack.psnr.toFixed(1)} dB`,
        "PSNR of the ciphertext-only attack's decryption: the key estimated from the ciphertexts and ordinary photos",
      ),
    );
  return tiles.length ? `<div class="headline">${tiles.join("")}</div>` : "";
}

const COMPARE_COLUMNS: { key: string; from: "config" | "final"; title: string }[] = [
  { key: "backbone", from: "config", title: "backbone" },
  { key: "adapt", from: "config", title: "adaptation" },
  { key: "blockSize", from: "config", title: "block size k" },
  { key: "optimizer", from: "config", title: "optimizer" },
  { key: "lr", from: "config", title: "learning rate" },
  { key: "epochs", from: "config", title: "epochs" },
  { key: "rounds", from: "config", title: "rounds" },
  { key: "bestValAcc", from: "final", title: "best validation accuracy" },
  { key: "testAcc", from: "final", title: "test accuracy" },
  { key: "psnr", from: "final", title: "adaptation output PSNR" },
  { key: "ssim", from: "final", title: "adaptation output SSIM" },
  { key: "mapError", from: "final", title: "map error vs K⁻¹" },
  { key: "wallSeconds", from: "final", title: "training time" },
];

/** The comparison rows (one per run) used for the sweep table and CSV. */
export function comparisonRows(runs: RunData[]): Row[] {
  return runs.map((r) => {
    const row: Row = { run: r.name };
    for (const c of COMPARE_COLUMNS) {
      const v = (c.from === "config" ? r.config : r.final)?.[c.key];
      row[c.key] = typeof v === "number" || typeof v === "string" || typeof v === "boolean" ? (v as Cell) : null;
    }
    return row;
  });
}

async function comparisonSection(runs: RunData[], ids: string[]): Promise<string> {
  const rows = comparisonRows(runs);
  const allAcc = rows.flatMap((r) => [num(r.testAcc), num(r.bestValAcc)]).filter((v): v is number => v !== undefined);
  const frac = isFractionScale(allAcc);
  const cols = COMPARE_COLUMNS.filter((c) => rows.some((r) => r[c.key] !== null && r[c.key] !== undefined));
  const head = `<tr><th>run</th>${cols.map((c) => `<th>${escapeHtml(c.title)}</th>`).join("")}</tr>`;
  const body = rows
    .map(
      (r, i) =>
        `<tr><td><a href="#${ids[i]}">${escapeHtml(String(r.run))}</a></td>${cols
          .map((c) => {
            const v = r[c.key];
            const text = v === null || v === undefined ? "—" : fmtValue(c.key, v, frac);
            return `<td class="${typeof v === "number" ? "num" : ""}">${escapeHtml(text)}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("");
  const csvCols: Column[] = [{ key: "run" }, ...cols.map((c) => ({ key: c.key, title: c.title }))];
  const csv = toCsv(rows, csvCols);
  const parts = [
    `<section id="comparison"><h2>Comparison</h2><table class="cmp">${head}${body}</table>`,
    `<p><a download="comparison.csv" href="data:text/csv;charset=utf-8,${encodeURIComponent(csv)}">comparison.csv</a></p>`,
  ];
  // bars: test accuracy (or best val when there is no test number); grouped by adaptation per backbone when the
  // (backbone, adapt) pairs are unique, else one bar per run
  const scale = frac ? 100 : 1;
  const metric = rows.some((r) => num(r.testAcc) !== undefined) ? "testAcc" : "bestValAcc";
  const label = metric === "testAcc" ? "test accuracy (%)" : "best validation accuracy (%)";
  const withVal = rows.filter((r) => num(r[metric]) !== undefined);
  if (withVal.length > 0) {
    const pairs = withVal.map((r) => `${r.backbone ?? ""}\u0000${r.adapt ?? ""}`);
    const unique = new Set(pairs).size === pairs.length && withVal.every((r) => r.backbone != null);
    const bars = withVal.map((r) =>
      unique
        ? { label: String(r.backbone), group: String(r.adapt ?? "—"), value: num(r[metric])! * scale }
        : { label: String(r.run), value: num(r[metric])! * scale },
    );
    const plot = await barChart({
      bars,
      title: `${metric === "testAcc" ? "Test" : "Best validation"} accuracy by ${unique ? "backbone and adaptation" : "run"}`,
      yLabel: label,
      groupLabel: "adaptation",
    });
    parts.push(`<div class="chart">${plot.svg}</div>`);
  }
  parts.push("</section>");
  return parts.join("\n");
}

const CSS = `
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222;background:#fff}
h1{font-size:24px;margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
h3{margin-top:22px;font-size:16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
table.kv th{background:#f6f6f6;font-weight:600;white-space:nowrap}
table.cmp th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.problems{background:#fff6e5;border:1px solid #f0c36d;padding:8px 8px 8px 28px;font-size:13px}
.note,.path,.meta{color:#666;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}.chart svg{max-width:100%;height:auto}
.pics{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figure img{image-rendering:pixelated;max-width:100%;border:1px solid #eee}
figcaption{font-size:12px;color:#555;text-align:center}
.headline{display:flex;flex-wrap:wrap;gap:14px;margin:16px 0 8px}
.tile{flex:1 1 240px;border:1px solid #d8e2ef;background:#f5f8fc;border-radius:6px;padding:10px 14px;font-size:13px}
.tile .big{font-size:30px;font-weight:700;color:#1f4e8c;margin-bottom:2px}
.intro{font-size:14px;line-height:1.5;max-width:900px}
details summary{cursor:pointer}details summary h3{display:inline-block;margin:22px 0 8px}
`;

export interface ReportOptions {
  runDirs: string[];
  title?: string;
  /** A paragraph of plain text under the title saying what was done (the demo's story). */
  intro?: string;
  /** The ciphertext-only attack's numbers and picture (a section, and a headline tile). */
  attack?: AttackSummary;
}

/** The report page as an HTML string. */
export async function renderReport(opts: ReportOptions): Promise<string> {
  const runs = opts.runDirs.map(loadRun);
  const ids = runs.map((_, i) => `run-${i + 1}`);
  const title = opts.title ?? (runs.length === 1 ? `ercnn run ${runs[0].name}` : `ercnn sweep (${runs.length} runs)`);
  const sections: string[] = [];
  if (runs.length === 0) sections.push(`<p class="problems">no run directories given</p>`);
  if (runs.length > 1) sections.push(await comparisonSection(runs, ids));
  for (let i = 0; i < runs.length; i++) sections.push(await runSection(runs[i], ids[i]));
  if (opts.attack) sections.push(attackSection(opts.attack));
  const top = headline(runs.length === 1 ? runs[0] : null, opts.attack);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(title)}</h1><p class="meta">generated ${escapeHtml(new Date().toISOString())} · ${runs.length} run(s)</p>
${opts.intro ? `<p class="intro">${escapeHtml(opts.intro)}</p>` : ""}${top}
${sections.join("\n")}
</body></html>
`;
}

/** Write the self-contained report page to `out` (atomically). Returns the page's path. */
export async function writeReport(opts: ReportOptions & { out: string }): Promise<string> {
  const html = await renderReport(opts);
  await writeFileAtomic(opts.out, html);
  return opts.out;
}
