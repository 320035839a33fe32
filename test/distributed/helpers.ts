// Multi-process test helpers: free loopback ports, rank processes with torchrun's environment, bounded waits, and
// no process left behind (every child is killed when the test file ends).
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freeLoopbackPort } from "../../src/train/distributed-launch.ts";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** A loopback port that was free a moment ago (the kernel picks it). */
export const freePort = freeLoopbackPort;

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Proc {
  child: ChildProcess;
  done: Promise<Result>;
  stdout: () => string;
}

/** Spawns a command; its result resolves when it exits (killed after timeoutMs). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000, cwd = root): Proc {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<Result>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return { child, done, stdout: () => stdout };
}

/** torchrun's variables for one rank of a loopback group. */
export function rankEnv(port: number, rank: number, worldSize: number): NodeJS.ProcessEnv {
  return {
    MASTER_ADDR: "127.0.0.1",
    MASTER_PORT: String(port),
    WORLD_SIZE: String(worldSize),
    RANK: String(rank),
    LOCAL_RANK: String(rank),
    GLOO_SOCKET_IFNAME: "lo",
    ERCNN_THREADS: "1",
    OMP_NUM_THREADS: "1",
  };
}

/** Runs test/distributed/rank.ts <scenario> as one rank. */
export function nodeRank(scenario: string, env: NodeJS.ProcessEnv, args: string[] = [], timeoutMs?: number): Proc {
  return run(
    process.execPath,
    ["--import", "tsx", join(root, "test/distributed/rank.ts"), scenario, ...args],
    env,
    timeoutMs,
  );
}

/** The last line of a process's stdout, parsed as JSON. */
export function lastJson(r: Result): any {
  const lines = r.stdout.trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    throw new Error(`no JSON result (exit ${r.code}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
}
