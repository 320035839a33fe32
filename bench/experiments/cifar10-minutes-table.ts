// The table of bench/experiments/cifar10-minutes.sh: the PyTorch twin of airbench94 on plaintexts (its result JSON)
// next to ercnn's runs of the same recipe under a cifar10-record.sh directory (run*/train and plain/train), with the
// minutes of the epochs alone (the twin's clock and the sum of ercnn's epoch times) and of the whole call, and the
// twin's accuracy after each epoch (one view, clock stopped).
// Usage: node --import tsx bench/experiments/cifar10-minutes-table.ts <RECORD dir> <twin result JSON> [KEYFREE dir]
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readRun } from "./tiny50-table.ts";

interface Row {
  name: string;
  acc: number;
  /** Minutes of the training epochs alone. */
  epochMinutes: number;
  /** Minutes of the whole call (ercnn: attack, epochs, 6-view test; the twin: epochs, whitening fit and TTA). */
  wholeMinutes: number;
}

interface Twin {
  testAcc: number;
  seconds: number;
  epochs: number;
  trainImages: number;
  curve: { epoch: number; trainSeconds: number; testAcc1View: number }[];
}

/** One finished ercnn run directory as a row (null: not finished); its final.json and wall time as tiny50-table reads them. */
export function ercnnRow(name: string, dir: string): Row | null {
  const run = readRun(dir);
  if (run?.acc == null) return null;
  const epochs = readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((m) => m.split === "train");
  const wholeMinutes = run.minutes ?? JSON.parse(readFileSync(join(dir, "final.json"), "utf8")).wallSeconds / 60;
  return { name, acc: run.acc, epochMinutes: epochs.reduce((s, m) => s + m.seconds, 0) / 60, wholeMinutes };
}

/** The finished `run<N>/train` directories under a cifar10-record.sh output, as rows named `${label}, run N`. */
function runRows(record: string, label: string): (Row | null)[] {
  if (!existsSync(record)) return [];
  return readdirSync(record)
    .filter((n) => /^run\d+$/.test(n))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((r) => ercnnRow(`${label}, run ${r.slice(3)}`, join(record, r, "train")));
}

/**
 * The markdown tables: runs side by side with their speed against the twin, then the twin's curve. `record` is
 * cifar10-record.sh's output (its encrypted runs and the plain control); `keyfree`, cifar10-keyfree.sh's, if given.
 */
export function minutesTable(record: string, twin: Twin, keyfree?: string): string {
  const rows: Row[] = [
    {
      name: `PyTorch twin, plaintexts (${twin.epochs} epochs, ${twin.trainImages} images)`,
      acc: twin.testAcc,
      epochMinutes: (twin.curve.at(-1)?.trainSeconds ?? twin.seconds) / 60,
      wholeMinutes: twin.seconds / 60,
    },
    ...runRows(record, "ercnn, encrypted"),
    ercnnRow("ercnn, plain control", join(record, "plain", "train")),
    ...(keyfree ? runRows(keyfree, "ercnn, encrypted, key-free") : []),
  ].filter((r): r is Row => r !== null);
  const base = rows[0].epochMinutes;
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const out = [
    "| run | test accuracy (6 views) | minutes of training epochs | speed vs the twin (epochs) | minutes, whole call |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${pct(r.acc)} | ${r.epochMinutes.toFixed(1)} | ${(base / r.epochMinutes).toFixed(2)}× | ` +
        `${r.wholeMinutes.toFixed(1)} |`,
    ),
    "",
    "The twin's test accuracy after each epoch (one view, its clock stopped while it measures):",
    "",
    "| epoch | minutes of training | test accuracy (1 view) |",
    "|---|---|---|",
    ...twin.curve.map((c) => `| ${c.epoch} | ${(c.trainSeconds / 60).toFixed(1)} | ${pct(c.testAcc1View)} |`),
  ];
  return out.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [record, twinPath, keyfree] = process.argv.slice(2);
  if (!record || !twinPath) {
    console.error("usage: cifar10-minutes-table.ts <RECORD dir> <twin result JSON> [KEYFREE dir]");
    process.exit(2);
  }
  console.log(minutesTable(record, JSON.parse(readFileSync(twinPath, "utf8")), keyfree));
}
