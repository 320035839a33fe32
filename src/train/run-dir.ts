// The run directory: config.json, metrics.jsonl, final.json, pictures/, and checkpoints swapped in atomically.
//   last/    the latest epoch: model + optimizer + trainer state (what --resume continues from)
//   best/    the best validation epoch's model (what the final test number uses)
// A checkpoint folder is written as NAME.tmp, then the old one is renamed NAME.old, the new one NAME, and the old
// removed: a kill at any moment leaves either NAME or NAME.old complete, and openCheckpoint() finds it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import type { MetricRow } from "../report/html.ts";

/** One metrics.jsonl row as the trainer writes it: the report's MetricRow with round, epoch and split always set. */
export type EpochMetrics = MetricRow & { round: number; epoch: number; split: "train" | "val" | "test" };

export class RunDir {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, "pictures"), { recursive: true });
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`);
  }

  readJson<T>(name: string): T | null {
    const p = this.path(name);
    if (!existsSync(p)) return null;
    try {
      return JSON.parse(readFileSync(p, "utf8")) as T;
    } catch (e) {
      throw new Error(`${p}: unreadable JSON: ${(e as Error).message}`);
    }
  }

  /** Rewrites metrics.jsonl from the full history (atomic, so a resume never sees half a line). */
  async writeMetrics(rows: EpochMetrics[]): Promise<void> {
    await writeFileAtomic(
      this.path("metrics.jsonl"),
      rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : ""),
    );
  }

  /** Writes checkpoint folder `name` through fill(tmpDir), then swaps it in. */
  async swapCheckpoint(name: string, fill: (dir: string) => Promise<void>): Promise<void> {
    const final = this.path(name);
    const tmp = `${final}.tmp`;
    const old = `${final}.old`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await fill(tmp);
    if (existsSync(final)) {
      rmSync(old, { recursive: true, force: true });
      renameSync(final, old);
    }
    renameSync(tmp, final);
    rmSync(old, { recursive: true, force: true });
  }

  /** The complete checkpoint folder `name` (recovering NAME.old after a kill mid-swap), or null. */
  openCheckpoint(name: string): string | null {
    const final = this.path(name);
    const old = `${final}.old`;
    if (!existsSync(final) && existsSync(old)) renameSync(old, final);
    return existsSync(join(final, "checkpoint.json")) ? final : null;
  }
}
