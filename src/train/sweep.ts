// ercnn sweep: a grid of training runs (batch size, lr, kernel size, backbone, adaptation kind, rounds, ...),
// resumable cell by cell, summarised as CSV/Markdown tables, plots and one HTML report.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import { barChart, lineChart, loadRun, savePlot, toCsv, toMarkdown, writeReport } from "../report/index.ts";
import { resolveConfig, type TrainConfig } from "./config.ts";
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

/** Cells of the grid, named by their values (stable, file-system safe). */
export function sweepCells(spec: SweepSpec, out: string): SweepCell[] {
  const axes = Object.entries(spec.grid).filter(([, v]) => Array.isArray(v) && v.length > 0) as [string, unknown[]][];
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
    resolveConfig({ ...spec.base, ...c.values, out: c.dir } as Parameters<typeof resolveConfig>[0]);
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
    row.bestValAcc = f ? f.bestValAcc : null;
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
          for (const m of history) if (m.split === "val" && m.psnr !== undefined) last.set(m.round, m.psnr);
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
