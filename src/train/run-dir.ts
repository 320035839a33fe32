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

/**
 * Runs a write of `what` at `path`; a failure that does not name a path (Node's "ENOSPC: no space left on device,
 * write") is rethrown naming it, so the user knows which disk filled up or which folder is read-only.
 */
export async function writingTo<T>(path: string, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (!err?.code || err.message.includes(path)) throw e;
    const hint = err.code === "ENOSPC" ? " (the disk is full)" : err.code === "EACCES" ? " (no permission)" : "";
    throw new Error(`${path}: cannot write ${what}${hint}: ${err.message}`, { cause: e });
  }
}

export class RunDir {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, "pictures"), { recursive: true });
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    const p = this.path(name);
    await writingTo(p, name, () => writeFileAtomic(p, `${JSON.stringify(value, null, 2)}\n`));
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
    const p = this.path("metrics.jsonl");
    const text = rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
    await writingTo(p, "the metrics", () => writeFileAtomic(p, text));
  }

  /** Writes checkpoint folder `name` through fill(tmpDir), then swaps it in. */
  async swapCheckpoint(name: string, fill: (dir: string) => Promise<void>): Promise<void> {
    const final = this.path(name);
    const tmp = `${final}.tmp`;
    const old = `${final}.old`;
    rmSync(tmp, { recursive: true, force: true });
    await writingTo(tmp, `the ${name} checkpoint`, async () => {
      mkdirSync(tmp, { recursive: true });
      await fill(tmp);
    });
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
