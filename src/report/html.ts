/**
 * One self-contained HTML report for a run directory or a sweep of them: inline CSS, charts as inline SVG, pictures
 * as data: URIs — the page makes no external requests.
 *
 * A run directory (written by the trainer) may hold config.json, metrics.jsonl (one JSON object per line:
 * {round, epoch, split: "train"|"val"|"test", loss, acc, lr, imgPerSec, psnr, ssim, mapError, seconds}, fields
 * optional), final.json ({testAcc, bestValAcc, bestEpoch, round, wallSeconds, psnr, ssim, ...}) and
 * pictures/*.png. Whatever is missing or unreadable is named on the page instead of failing the report.
 *
 * Accuracies are taken as fractions when every value is ≤ 1 (what the trainer writes) and shown as percentages.
 * Curves use a global epoch axis: the rounds are concatenated (round r starts after the last epoch of round r−1)
 * and dashed lines mark the round boundaries.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import { barChart, type LineSeries, lineChart } from "./plots.ts";
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

function fmtValue(key: string, v: unknown, accFraction: boolean): string {
  if (typeof v === "number") {
    if (/acc/i.test(key) && Number.isFinite(v)) return accFraction ? `${(100 * v).toFixed(2)}%` : `${v.toFixed(2)}%`;
    if (/psnr/i.test(key) && Number.isFinite(v)) return `${v.toFixed(2)} dB`;
    if (/seconds/i.test(key) && Number.isFinite(v))
      return v >= 120 ? `${v.toFixed(0)} s (${(v / 60).toFixed(1)} min)` : `${v.toFixed(1)} s`;
    return formatCell(v);
  }
  if (v === null || v === undefined) return "—";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function kvTable(obj: Record<string, unknown>, accFraction: boolean): string {
  const rows = Object.entries(obj)
    .filter(([k, v]) => !(KEY_MATERIAL.test(k) && typeof v === "object" && v !== null))
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(fmtValue(k, v, accFraction))}</td></tr>`);
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

async function curve(
  run: RunData,
  field: string,
  title: string,
  yLabel: string,
  scale: number,
  splits: string[] = ["train", "val"],
): Promise<string | null> {
  const { x, boundaries } = globalEpochs(run.metrics);
  const series: LineSeries[] = [];
  for (const split of splits) {
    const points = run.metrics
      .filter((m) => (m.split ?? "") === split && num(m[field]) !== undefined && x(m) !== undefined)
      .map((m) => ({ x: x(m)!, y: num(m[field])! * scale }));
    if (points.length > 0) series.push({ name: split, points });
  }
  if (series.length === 0) return null;
  const plot = await lineChart({ series, title, xLabel: "epoch (rounds concatenated)", yLabel, rules: boundaries });
  return plot.svg;
}

function picturesHtml(run: RunData): string {
  if (run.pictures.length === 0) return "";
  const figs = run.pictures.map(
    (p) =>
      `<figure><img alt="${escapeHtml(p.name)}" src="data:image/png;base64,${p.png.toString("base64")}"><figcaption>${escapeHtml(p.name)}</figcaption></figure>`,
  );
  return `<h3>Decryption pictures</h3><p class="note">ciphertext (min-max scaled) | adaptation output (affine-fitted to the plaintext) | plaintext</p><div class="pics">${figs.join("")}</div>`;
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
  if (run.final) parts.push(`<h3>Final</h3>${kvTable(run.final, accFraction)}`);
  const charts: string[] = [];
  const accScale = accFraction ? 100 : 1;
  const c1 = await curve(run, "acc", "Accuracy", "accuracy (%)", accScale);
  const c2 = await curve(run, "loss", "Loss", "loss", 1);
  const c3 = await curve(run, "psnr", "Decryption PSNR (affine-fitted adaptation output)", "PSNR (dB)", 1, [
    "val",
    "train",
    "test",
  ]);
  const c4 = await curve(run, "ssim", "Decryption SSIM", "SSIM", 1, ["val", "train", "test"]);
  const c5 = await curve(run, "mapError", "Adaptation map vs K⁻¹ (relative error)", "relative error", 1, [
    "val",
    "train",
    "test",
  ]);
  for (const c of [c1, c2, c3, c4, c5]) if (c) charts.push(`<div class="chart">${c}</div>`);
  if (charts.length > 0) parts.push(`<h3>Curves</h3><div class="charts">${charts.join("")}</div>`);
  else if (run.metrics.length > 0) parts.push(`<p class="note">metrics.jsonl has no plottable per-epoch values</p>`);
  parts.push(picturesHtml(run));
  if (run.config) parts.push(`<h3>Configuration</h3>${kvTable(run.config, accFraction)}`);
  parts.push("</section>");
  return parts.join("\n");
}

const COMPARE_COLUMNS: { key: string; from: "config" | "final"; title: string }[] = [
  { key: "backbone", from: "config", title: "backbone" },
  { key: "adapt", from: "config", title: "adapt" },
  { key: "blockSize", from: "config", title: "k" },
  { key: "optimizer", from: "config", title: "optimizer" },
  { key: "lr", from: "config", title: "lr" },
  { key: "epochs", from: "config", title: "epochs" },
  { key: "rounds", from: "config", title: "rounds" },
  { key: "bestValAcc", from: "final", title: "best val acc" },
  { key: "testAcc", from: "final", title: "test acc" },
  { key: "psnr", from: "final", title: "PSNR (dB)" },
  { key: "ssim", from: "final", title: "SSIM" },
  { key: "mapError", from: "final", title: "map error" },
  { key: "wallSeconds", from: "final", title: "wall (s)" },
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
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart svg{max-width:100%;height:auto}
.pics{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figure img{image-rendering:pixelated;max-width:100%;border:1px solid #eee}
figcaption{font-size:12px;color:#555;text-align:center}
`;

/** The report page as an HTML string. */
export async function renderReport(opts: { runDirs: string[]; title?: string }): Promise<string> {
  const runs = opts.runDirs.map(loadRun);
  const ids = runs.map((_, i) => `run-${i + 1}`);
  const title = opts.title ?? (runs.length === 1 ? `ercnn run ${runs[0].name}` : `ercnn sweep (${runs.length} runs)`);
  const sections: string[] = [];
  if (runs.length === 0) sections.push(`<p class="problems">no run directories given</p>`);
  if (runs.length > 1) sections.push(await comparisonSection(runs, ids));
  for (let i = 0; i < runs.length; i++) sections.push(await runSection(runs[i], ids[i]));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(title)}</h1><p class="meta">generated ${escapeHtml(new Date().toISOString())} · ${runs.length} run(s)</p>
${sections.join("\n")}
</body></html>
`;
}

/** Write the self-contained report page to `out` (atomically). Returns the page's path. */
export async function writeReport(opts: { runDirs: string[]; out: string; title?: string }): Promise<string> {
  const html = await renderReport(opts);
  await writeFileAtomic(opts.out, html);
  return opts.out;
}
