// The table of bench/experiments/tiny50-record.sh: one row per variant whose run finished, with its plain control,
// the adaptation output's PSNR and the wall minutes of pretraining and training.
// Usage: node --import tsx bench/experiments/tiny50-table.ts <OUT of tiny50-record.sh>
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Run {
  acc: number | null;
  psnr: number | null;
  minutes: number | null;
  rounds: number;
  /** The adaptation's multipliers of the lr and of the decay per step (config.json; 1 when absent). */
  adaptLrScale: number;
  adaptDecayScale: number;
  /** How the adaptation started (config.json's adaptInit; "attack" when absent). */
  adaptInit: string;
}

/** A finished run directory's test accuracy, PSNR, wall minutes and rounds (null: not run). */
export function readRun(dir: string): Run | null {
  if (!existsSync(join(dir, "final.json"))) return null;
  const f = JSON.parse(readFileSync(join(dir, "final.json"), "utf8"));
  const cfg = existsSync(join(dir, "config.json")) ? JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) : {};
  return {
    acc: typeof f.testAcc === "number" ? f.testAcc : null,
    psnr: typeof f.psnr === "number" ? f.psnr : null,
    minutes: wallMinutes(dir),
    rounds: cfg.rounds ?? 1,
    adaptLrScale: cfg.adaptLrScale ?? 1,
    adaptDecayScale: cfg.adaptDecayScale ?? 1,
    adaptInit: cfg.adaptInit ?? "attack",
  };
}

function wallMinutes(dir: string): number | null {
  const p = join(dir, "wall-seconds");
  return existsSync(p) ? Number(readFileSync(p, "utf8")) / 60 : null;
}

const pct = (v: number | null | undefined) => (v == null ? "–" : `${(100 * v).toFixed(2)}%`);
const mins = (v: number | null | undefined) => (v == null ? "–" : v.toFixed(1));

/** "multi-round (3 rounds, adaptation trained at 0.01× the lr, no weight decay)" from the run's config. */
function multiRoundLabel(r: Run | null): string {
  if (!r) return "multi-round"; // not finished: the row is left out
  const how = [
    r.adaptInit === "default" ? " from PyTorch's default init" : "",
    r.adaptLrScale !== 1 ? ` at ${r.adaptLrScale}× the lr` : "",
    r.adaptDecayScale === 0 ? ", no weight decay" : r.adaptDecayScale !== 1 ? `, ${r.adaptDecayScale}× the decay` : "",
  ].join("");
  return `multi-round (${r.rounds} rounds, adaptation trained${how})`;
}

/** The markdown table for the record directory `out`. */
export function recordTable(out: string): string {
  const pre = wallMinutes(join(out, "pretrain"));
  const plain = readRun(join(out, "plain"));
  const plainScratch = readRun(join(out, "plain-scratch"));
  // k8/rounds<R>[-init-<how>][-adapt-lr-<x>][-decay-<d>]: the label says the adaptation's init, lr and decay (config.json)
  const multi = existsSync(join(out, "k8"))
    ? readdirSync(join(out, "k8"))
        .filter((n) => /^rounds\d+(?:-(?:init|adapt|decay)-.+)?$/.test(n))
        .sort()
    : [];
  // each row's run is read once: [label, k, run, plain control, pretraining minutes]
  const rows: [string, string, Run | null, Run | null, number | null][] = [
    ["approach one (pretrained, attack estimate fixed)", "8", readRun(join(out, "k8/record")), plain, pre],
    ["no pretraining", "8", readRun(join(out, "k8/scratch")), plainScratch, null],
    ["approach one, k = 16", "16", readRun(join(out, "k16/record")), plain, pre],
    ...multi.map((n): [string, string, Run | null, Run | null, number | null] => {
      const r = readRun(join(out, "k8", n));
      return [multiRoundLabel(r), "8", r, plain, pre];
    }),
  ];
  const lines = [
    "| variant | k | test accuracy | plain control | adaptation PSNR | pretraining minutes | training minutes |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const [name, k, r, control, preMin] of rows) {
    if (!r) continue;
    const psnr = r.psnr == null ? "–" : `${r.psnr.toFixed(2)} dB`;
    lines.push(
      `| ${name} | ${k} | ${pct(r.acc)} | ${pct(control?.acc)} | ${psnr} | ${mins(preMin)} | ${mins(r.minutes)} |`,
    );
  }
  if (lines.length === 2 && plain)
    lines.push(`| plain control only | – | – | ${pct(plain.acc)} | – | ${mins(pre)} | – |`);
  const controls = [
    ["pretrained", plain],
    ["from scratch", plainScratch],
  ] as const;
  const said = controls.filter(([, r]) => r).map(([how, r]) => `${how} ${mins(r?.minutes)}`);
  if (said.length) lines.push("", `plain control training minutes: ${said.join(", ")}`);
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write("usage: tiny50-table.ts <record directory>\n");
    process.exit(2);
  }
  process.stdout.write(`\n${recordTable(out)}\n`);
}
