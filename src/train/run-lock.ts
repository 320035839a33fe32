// A run directory belongs to one training process at a time. The owner holds DIR/run.lock, created with O_EXCL (so
// of two processes starting together exactly one gets it) and holding its pid, host and start time. The lock is
// removed when the run ends, and on process exit; a process killed outright (SIGKILL, power loss) leaves the file,
// so a lock whose pid no longer runs on this host is stale and taken over, saying so. A lock from another host cannot
// be checked and is never taken over.
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export const LOCK_FILE = "run.lock";

/** What a lock file records about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock. */
  started: string;
}

export class RunLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder,
  ) {
    super(
      `${lockPath}: this run directory is in use by process ${holder.pid} on ${holder.host} (since ${holder.started}); ` +
        `wait for it to finish, stop it, or train into another --out (if process ${holder.pid} is not a training run, ` +
        `delete ${lockPath})`,
    );
    this.name = "RunLockedError";
  }
}

/** Whether process `pid` runs on this host (EPERM: it runs, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>;
    if (Number.isInteger(h.pid) && typeof h.host === "string" && typeof h.started === "string") return h as LockHolder;
  } catch {
    // missing, half-written or not a lock: treated below
  }
  return null;
}

/** The held lock of one run directory; release() is idempotent. */
export class RunLock {
  private released = false;
  private readonly onExit = () => this.release();

  constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {
    process.on("exit", this.onExit);
  }

  /** Removes the lock file if it is still ours. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off("exit", this.onExit);
    const now = readHolder(this.path);
    if (now && now.pid === this.holder.pid && now.host === this.holder.host && now.started === this.holder.started)
      rmSync(this.path, { force: true });
  }
}

/** Creates the lock file with O_EXCL; false if it exists. */
function tryCreate(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new Error(`${path}: cannot create the run lock: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Moves a stale lock aside (rename is atomic: of two processes taking over, one moves it). If what was moved is not
 * the stale lock that was judged (another process took over in between), it is put back and that process named.
 */
function removeStale(path: string, stale: string): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // someone else removed it; retry the create
    throw e;
  }
  const moved = readFileSync(aside, "utf8");
  if (moved !== stale) {
    try {
      linkSync(aside, path);
    } catch {
      // a third process holds the lock now; the retry names it
    }
  }
  rmSync(aside, { force: true });
}

/**
 * Takes the lock of run directory `dir` (created if missing) for this process, taking over a stale one (its pid is
 * no longer running here) with a line to `log`; throws RunLockedError naming the live holder otherwise.
 */
export function acquireRunLock(dir: string, log: (line: string) => void): RunLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 6; attempt++) {
    if (tryCreate(path, me)) return new RunLock(path, me);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue; // released between our create and read
    }
    const holder = readHolder(path);
    if (!holder && attempt < 3) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // its creator may be writing it
      continue;
    }
    if (holder && (holder.host !== me.host || alive(holder.pid))) throw new RunLockedError(path, holder);
    log(
      holder
        ? `${path}: taking over the lock of process ${holder.pid} (since ${holder.started}), which is no longer running`
        : `${path}: replacing an unreadable lock file`,
    );
    removeStale(path, text);
  }
  const holder = readHolder(path);
  if (holder) throw new RunLockedError(path, holder);
  throw new Error(`${path}: could not take the run lock (it keeps changing); is another run starting here?`);
}
