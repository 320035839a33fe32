// Step 1 of training: open the run directory, as a new run or to resume one. A resumed run trains the config it
// was started with; flags given again must agree with it, except the few that cannot change what is learned.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { optim } from "../torch/index.ts";
import { type PartialTrainConfig, resolveConfig, type TrainConfig } from "./config.ts";
import { type EpochMetrics, RunDir } from "./run-dir.ts";
import { acquireRunLock, type RunLock } from "./run-lock.ts";

export interface TrainState {
  /** Round and epoch (1-based) of the last completed epoch; epoch 0 = the round has not started. */
  round: number;
  epoch: number;
  bestValAcc: number;
  bestRound: number;
  bestEpoch: number;
  history: EpochMetrics[];
  wallSeconds: number;
  scheduler: optim.SchedulerStateDict | null;
  /** Ranks that trained the run (absent: 1); --resume needs the same. */
  worldSize?: number;
}

export interface OpenedRun {
  cfg: TrainConfig;
  run: RunDir;
  state: TrainState;
  /** The checkpoint to continue from (resume), or null for a fresh start. */
  lastCheckpoint: string | null;
  /** This process's hold on the run directory (null for a data-parallel rank that does not write); release at the end. */
  lock: RunLock | null;
}

/** Options that may differ on --resume: they change how fast or where the final number is measured, not training. */
export const CHANGEABLE_ON_RESUME: readonly (keyof TrainConfig)[] = [
  "threads",
  "workers",
  "test",
  "device",
  "distTimeout",
  // the world size is checked against the run's state instead (a torchrun-started run has no --nproc)
  "nproc",
];

const PATH_FIELDS = new Set<string>(["train", "test", "reference", "pretrained", "keyFolded", "evalKey"]);

export function freshState(): TrainState {
  return {
    round: 1,
    epoch: 0,
    bestValAcc: -1,
    bestRound: 0,
    bestEpoch: 0,
    history: [],
    wallSeconds: 0,
    scheduler: null,
  };
}

/** Opens `partial.out`: a new run (its config.json written), or with `resume` the run there, checked against `partial`. */
export async function openRun(
  partial: PartialTrainConfig,
  o: { resume?: boolean; log: (line: string) => void; readOnly?: boolean },
): Promise<OpenedRun> {
  const asked = resolveConfig(partial);
  const configPath = join(asked.out, "config.json");
  if (o.resume && !existsSync(configPath))
    throw new Error(`${asked.out}: no run to resume (${configPath} is missing); drop --resume to start a new run`);
  // Taken before anything is read or written, so two processes never share (or half-overwrite) one run.
  const lock = o.readOnly ? null : acquireRunLock(asked.out, o.log);
  try {
    return { ...(await openLocked(asked, partial, o)), lock };
  } catch (e) {
    lock?.release();
    throw e;
  }
}

async function openLocked(
  asked: TrainConfig,
  partial: PartialTrainConfig,
  o: { resume?: boolean; log: (line: string) => void; readOnly?: boolean },
): Promise<Omit<OpenedRun, "lock">> {
  const run = new RunDir(asked.out);
  const last = run.openCheckpoint("last");
  if (!o.resume) {
    if (last)
      throw new Error(
        `${asked.out} already holds a run (last epoch checkpoint found); pass --resume or choose another --out`,
      );
    if (!o.readOnly) await run.writeJson("config.json", asked);
    return { cfg: asked, run, state: freshState(), lastCheckpoint: null };
  }
  const saved = resolveConfig({ ...run.readJson<TrainConfig>("config.json")!, out: asked.out });
  const cfg = reconcile(saved, asked, partial, o.log);
  if (cfg !== saved && !o.readOnly) await run.writeJson("config.json", cfg);
  if (!last) {
    o.log(`${asked.out}: no epoch was completed before; starting it from epoch 1 with its saved config`);
    return { cfg, run, state: freshState(), lastCheckpoint: null };
  }
  const statePath = join(last, "state.json");
  let state: TrainState;
  try {
    state = JSON.parse(readFileSync(statePath, "utf8")) as TrainState;
  } catch (e) {
    throw new Error(`${statePath}: unreadable trainer state (${(e as Error).message}); the checkpoint is damaged`);
  }
  o.log(`resuming ${cfg.out} after round ${state.round} epoch ${state.epoch}`);
  return { cfg, run, state, lastCheckpoint: last };
}

/**
 * The saved config with the changeable options the caller gave applied; throws naming every other given option
 * whose value differs from the saved run's.
 */
function reconcile(
  saved: TrainConfig,
  asked: TrainConfig,
  given: PartialTrainConfig,
  log: (line: string) => void,
): TrainConfig {
  const same = (k: string, a: unknown, b: unknown) =>
    PATH_FIELDS.has(k) && typeof a === "string" && typeof b === "string"
      ? resolve(a) === resolve(b)
      : JSON.stringify(a) === JSON.stringify(b);
  const keys = (Object.keys(given) as (keyof TrainConfig)[]).filter(
    (k) => k !== "out" && given[k] !== undefined && !same(k, asked[k], saved[k]),
  );
  const changeable = keys.filter((k) => CHANGEABLE_ON_RESUME.includes(k));
  const conflicts = keys.filter((k) => !CHANGEABLE_ON_RESUME.includes(k));
  const show = (k: keyof TrainConfig, c: TrainConfig) => `${k} ${JSON.stringify(c[k])}`;
  if (conflicts.length)
    throw new Error(
      `${asked.out}: cannot resume with different settings: ${conflicts.map((k) => `${show(k, asked)} (the run has ${JSON.stringify(saved[k])})`).join(", ")}. ` +
        `Drop those options to continue the run as it was started, or train into a new --out`,
    );
  if (!changeable.length) return saved;
  log(
    `resume: applying ${changeable.map((k) => show(k, asked)).join(", ")} (was ${changeable.map((k) => JSON.stringify(saved[k])).join(", ")})`,
  );
  const cfg = { ...saved };
  for (const k of changeable) (cfg as Record<string, unknown>)[k] = asked[k];
  return cfg;
}
