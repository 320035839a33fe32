// ercnn sweep: a grid of training runs (batch size, lr, kernel size, backbone, adaptation kind, rounds, ...),
// resumable cell by cell, summarised as CSV/Markdown tables, plots and one HTML report.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import { barChart, lineChart, loadRun, savePlot, toCsv, toMarkdown, writeReport } from "../report/index.ts";
import { resolveConfig, TRAIN_OPTIONS, type TrainConfig } from "./config.ts";
import type { EpochMetrics } from "./run-dir.ts";
import { type FinalResult, isFinished, type TrainOptions, train } from "./trainer.ts";

export type Grid = Partial<Record<keyof TrainConfig, unknown[]>>;

export interface SweepSpec {
  /** Settings shared by every cell (train store, test store, epochs, ...). */
  base: Partial<TrainConfig> & { train: string };
  /** Axis name → values; cells are the cartesian product, in axis order. */
  grid: Grid;
}

export interface SweepCell {
  name: string;
  values: Record<string, unknown>;
  dir: string;
}

/**
 * Checks a sweep spec read from `source` as strictly as `train --config` checks its file: only known fields (in the
 * spec, its base and its grid), every grid axis a non-empty list. "out" is the sweep's own (-o), per cell. Errors
 * name the source and the field; each cell's values are checked by resolveConfig before anything runs.
 */
export function checkSweepSpec(spec: unknown, source: string): SweepSpec {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(spec)) throw new Error(`${source}: expected a JSON object {"base": {...}, "grid": {...}}`);
  const extra = Object.keys(spec).filter((k) => k !== "base" && k !== "grid");
  if (extra.length) throw new Error(`${source}: unknown field(s) ${extra.join(", ")} (a spec has "base" and "grid")`);
  if (!isObject(spec.base) || typeof spec.base.train !== "string")
    throw new Error(`${source}: needs a "base" object naming the training store ("train")`);
  if (!isObject(spec.grid)) throw new Error(`${source}: needs a "grid" object (axis name → list of values)`);
  const known = new Set<string>([...Object.keys(TRAIN_OPTIONS), "train"]);
  for (const part of ["base", "grid"] as const) {
    const fields = Object.keys(spec[part] as object);
    if (fields.includes("out"))
      throw new Error(`${source}: ${part}.out is not allowed (each cell's run directory is under sweep -o)`);
    const unknown = fields.filter((k) => !known.has(k));
    if (unknown.length) throw new Error(`${source}: unknown ${part} field(s) ${unknown.join(", ")}`);
  }
  for (const [k, v] of Object.entries(spec.grid))
    if (!Array.isArray(v) || v.length === 0)
      throw new Error(`${source}: grid.${k} must be a non-empty list of values (got ${JSON.stringify(v)})`);
  return spec as unknown as SweepSpec;
}

/** Cells of the grid, named by their values (stable, file-system safe). */
export function sweepCells(spec: SweepSpec, out: string): SweepCell[] {
  const axes = Object.entries(checkSweepSpec(spec, "sweep spec").grid) as [string, unknown[]][];
  let combos: Record<string, unknown>[] = [{}];
  for (const [k, vals] of axes) combos = combos.flatMap((c) => vals.map((v) => ({ ...c, [k]: v })));
  return combos.map((values) => {
    const name =
      Object.entries(values)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(",")
        .replace(/[^A-Za-z0-9=,._-]/g, "_") || "base";
    return { name, values, dir: join(out, "cells", name) };
  });
}

export interface SweepRow extends Record<string, string | number | boolean | null> {
  cell: string;
}

export interface SweepOptions extends Pick<TrainOptions, "quiet" | "log" | "progress"> {
  /** Run at most this many cells in this call (then stop; a later call resumes). */
  maxCells?: number;
  /** Replaces the trainer (tests). */
  trainFn?: typeof train;
}

/** Runs (or resumes) every cell, then writes results.csv, results.md, plots and report.html into `out`. */
export async function runSweep(
  spec: SweepSpec,
  out: string,
  o: SweepOptions = {},
): Promise<{ rows: SweepRow[]; ran: string[]; skipped: string[] }> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const cells = sweepCells(spec, out);
  // validate every cell's config before spending any time
  for (const c of cells)
    try {
      resolveConfig({ ...spec.base, ...c.values, out: c.dir } as Parameters<typeof resolveConfig>[0]);
    } catch (e) {
      throw new Error(`sweep cell ${c.name}: ${(e as Error).message}`);
    }
  await writeFileAtomic(join(out, "sweep.json"), `${JSON.stringify(spec, null, 2)}\n`);
  const ran: string[] = [];
  const skipped: string[] = [];
  const run = o.trainFn ?? train;
  for (const [i, c] of cells.entries()) {
    if (isFinished(c.dir)) {
      skipped.push(c.name);
      log(`sweep ${i + 1}/${cells.length} ${c.name}: done already, skipped`);
      continue;
    }
    if (o.maxCells !== undefined && ran.length >= o.maxCells) break;
    log(`sweep ${i + 1}/${cells.length} ${c.name}`);
    await run({ ...spec.base, ...c.values, out: c.dir } as Parameters<typeof train>[0], {
      quiet: o.quiet,
      progress: o.progress,
      log,
      resume: existsSync(join(c.dir, "last")) || existsSync(join(c.dir, "last.old")),
    });
    ran.push(c.name);
  }
  const rows = await summarise(cells, out);
  return { rows, ran, skipped };
}

async function summarise(cells: SweepCell[], out: string): Promise<SweepRow[]> {
  // each cell's run directory is read once (the report's reader)
  const runs = cells.map((c) => {
    const r = loadRun(c.dir);
    return { cell: c, final: r.final as unknown as FinalResult | null, history: r.metrics as EpochMetrics[] };
  });
  const rows: SweepRow[] = [];
  for (const { cell: c, final: f } of runs) {
    const row: SweepRow = { cell: c.name };
    for (const [k, v] of Object.entries(c.values)) row[k] = v as string | number | boolean;
    row.status = f ? "done" : "pending";
    row.testAcc = f?.testAcc ?? null;
    // a cell without a validation split has only a training accuracy: not shown as a validation one
    row.bestValAcc = f && f.bestOn !== "train" ? f.bestValAcc : null;
    if (f?.bestOn === "train") row.bestTrainAcc = f.bestValAcc;
    row.psnr = f?.psnr ?? null;
    row.ssim = f?.ssim ?? null;
    row.wallSeconds = f ? Math.round(f.wallSeconds) : null;
    rows.push(row);
  }
  await writeFileAtomic(join(out, "results.csv"), toCsv(rows));
  await writeFileAtomic(join(out, "results.md"), toMarkdown(rows));
  const done = runs.filter((r) => r.final);
  if (done.length) {
    const curves = await lineChart({
      title: "Validation accuracy",
      xLabel: "epoch (rounds concatenated)",
      yLabel: "accuracy",
      series: done.map(({ cell, history }) => {
        const val = history.filter((m) => m.split === "val");
        const perRound = Math.max(1, ...val.map((m) => m.epoch));
        return { name: cell.name, points: val.map((m) => ({ x: (m.round - 1) * perRound + m.epoch, y: m.acc ?? 0 })) };
      }),
    });
    const bars = await barChart({
      title: "Test accuracy per cell",
      yLabel: "test accuracy",
      bars: done.map(({ cell, final }) => {
        const adapt = cell.values.adapt as string | undefined;
        const label =
          Object.entries(cell.values)
            .filter(([k]) => k !== "adapt")
            .map(([k, v]) => `${k}=${v}`)
            .join(" ") || cell.name;
        return { label, value: final!.testAcc ?? final!.bestValAcc, ...(adapt ? { group: adapt } : {}) };
      }),
    });
    const psnr = await lineChart({
      title: "Decryption PSNR of the adaptation output (end of each round)",
      xLabel: "round",
      yLabel: "PSNR (dB)",
      series: done
        .map(({ cell, history }) => {
          const last = new Map<number, number>();
          for (const m of history) if (m.split !== "test" && m.psnr !== undefined) last.set(m.round, m.psnr);
          return { name: cell.name, points: [...last].map(([x, y]) => ({ x, y })) };
        })
        .filter((s) => s.points.length > 0),
    });
    for (const [name, plot] of [
      ["accuracy", curves],
      ["test-accuracy", bars],
      ["psnr", psnr],
    ] as const) {
      await savePlot(join(out, `${name}.svg`), plot);
      await savePlot(join(out, `${name}.png`), plot);
    }
    await writeReport({
      runDirs: done.map((r) => r.cell.dir),
      out: join(out, "report.html"),
      title: `ercnn sweep ${out}`,
    });
  }
  return rows;
}
