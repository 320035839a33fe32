// `--nproc N`: ercnn's own torchrun --standalone. Spawns N local ranks of the same command with torchrun's
// variables (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK), splits the cores between them, forwards
// SIGINT/SIGTERM/SIGHUP, and when one rank fails gives the others a grace period to report (they name the failed
// rank) before stopping them, so no process outlives the launcher.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";

export interface LaunchOptions {
  nproc: number;
  /** The command every rank runs (defaults to this process's node, flags and script). */
  command?: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Rendezvous port (default: a free loopback port). */
  masterPort?: number;
  /** Intra-op threads per rank (default: cores / nproc, at least 1). */
  threadsPerRank?: number;
  /** After a rank fails, how long the others may take to exit on their own before SIGTERM, then SIGKILL. */
  graceMs?: number;
  log?: (line: string) => void;
  /** Receives the ranks' stdout instead of the terminal (benchmarks collect results this way). */
  onStdout?: (chunk: string) => void;
}

export interface LaunchResult {
  /** The launcher's exit code: 0 when every rank succeeded, else the first failure's code (128+n for signal n). */
  code: number;
  /** The first rank that failed, if any. */
  failedRank: number | null;
  codes: (number | null)[];
}

/** A loopback port that is free now (the kernel picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const SIGNUM: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGSEGV: 11,
  SIGABRT: 6,
};

export async function launchRanks(o: LaunchOptions): Promise<LaunchResult> {
  const n = o.nproc;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--nproc must be a positive integer, got ${n}`);
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const port = o.masterPort ?? (await freeLoopbackPort());
  const threads = o.threadsPerRank ?? Math.max(1, Math.floor(availableParallelism() / n));
  const graceMs = o.graceMs ?? 30_000;
  const command = o.command ?? process.execPath;
  const args = o.command ? o.args : [...process.execArgv, process.argv[1], ...o.args];
  const children: ChildProcess[] = [];
  const codes: (number | null)[] = new Array(n).fill(null);
  let failedRank: number | null = null;
  let firstCode = 0;
  let killTimer: NodeJS.Timeout | null = null;

  const stopAll = (sig: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
  };
  const forward = (sig: NodeJS.Signals) => () => stopAll(sig);
  const handlers = SIGNALS.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);

  const exits = Array.from({ length: n }, (_, rank) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...o.env,
      MASTER_ADDR: "127.0.0.1",
      MASTER_PORT: String(port),
      WORLD_SIZE: String(n),
      RANK: String(rank),
      LOCAL_RANK: String(rank),
      LOCAL_WORLD_SIZE: String(n),
      ERCNN_THREADS: String(threads),
      OMP_NUM_THREADS: String(threads),
    };
    const child = spawn(command, args, { env, stdio: ["inherit", o.onStdout ? "pipe" : "inherit", "inherit"] });
    if (o.onStdout) child.stdout!.on("data", (d: Buffer) => o.onStdout!(d.toString()));
    children.push(child);
    return new Promise<void>((resolve) => {
      child.on("error", (e) => {
        log(`ercnn: rank ${rank} could not start: ${e.message}`);
      });
      child.on("close", (code, signal) => {
        const c = code ?? 128 + (signal ? (SIGNUM[signal] ?? 1) : 1);
        codes[rank] = c;
        if (c !== 0 && failedRank === null) {
          failedRank = rank;
          firstCode = c;
          log(
            `ercnn: rank ${rank} exited with ${signal ? `signal ${signal}` : `code ${code}`}; stopping the other ranks`,
          );
          killTimer = setTimeout(() => {
            stopAll("SIGTERM");
            setTimeout(() => stopAll("SIGKILL"), 5000).unref();
          }, graceMs);
          killTimer.unref();
        }
        resolve();
      });
    });
  });
  await Promise.all(exits);
  if (killTimer) clearTimeout(killTimer);
  for (const [s, h] of handlers) process.off(s, h);
  return { code: failedRank === null ? 0 : firstCode, failedRank, codes };
}
