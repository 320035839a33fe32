// One training process per run directory (run-lock.ts): a second process is refused naming the holder's pid; a lock
// left by a killed process is taken over, saying so; two processes starting together get it exactly once.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { acquireRunLock, LOCK_FILE, RunLockedError } from "../../src/train/run-lock.ts";
import { writeSyntheticStore } from "./synthetic.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-lock-"));
  await writeSyntheticStore(join(dir, "train"), { n: 48, classes: 3, size: 16, key: null });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a process that takes the lock of `out`; resolves with its first stdout line. */
function holder(out: string): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "hold-run-lock-main.ts"), out], { cwd: root });
  let text = "";
  const line = new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (d) => {
      text += d;
      if (text.includes("\n")) resolve(text.split("\n")[0]);
    });
    child.on("exit", (code) => (text.includes("\n") ? undefined : reject(new Error(`holder exited ${code}`))));
  });
  return { child, line };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.on("exit", r));
  child.kill("SIGKILL");
  await gone;
}

test("a held run directory is refused naming the holder; a killed holder's lock is taken over", async () => {
  const out = join(dir, "run-a");
  const h = holder(out);
  try {
    assert.equal(await h.line, `held ${h.child.pid}`);
    const lines: string[] = [];
    assert.throws(
      () => acquireRunLock(out, (l) => lines.push(l)),
      (e: Error) =>
        e instanceof RunLockedError &&
        e.message.includes(`in use by process ${h.child.pid} on ${hostname()}`) &&
        e.message.includes(join(out, LOCK_FILE)),
    );
    await kill(h.child); // SIGKILL: no exit handler runs, the lock file stays
    assert.ok(existsSync(join(out, LOCK_FILE)), "a killed process leaves its lock file");
    const lock = acquireRunLock(out, (l) => lines.push(l));
    assert.match(lines.join("\n"), new RegExp(`taking over the lock of process ${h.child.pid} .*no longer running`));
    assert.equal(JSON.parse(readFileSync(join(out, LOCK_FILE), "utf8")).pid, process.pid);
    lock.release();
    assert.ok(!existsSync(join(out, LOCK_FILE)), "release removes the lock");
  } finally {
    await kill(h.child);
  }
});

test("two processes starting together: exactly one holds the run, the other names it", async () => {
  const out = join(dir, "run-b");
  const [a, b] = [holder(out), holder(out)];
  try {
    const lines = await Promise.all([a.line, b.line]);
    const held = lines.filter((l) => l.startsWith("held "));
    assert.equal(held.length, 1, lines.join("\n"));
    const winner = held[0].split(" ")[1];
    const refusal = lines.find((l) => l.startsWith("refused "));
    assert.match(refusal ?? "", new RegExp(`in use by process ${winner} `));
  } finally {
    await Promise.all([kill(a.child), kill(b.child)]);
  }
});

test("a lock from another host is never taken over; a garbled one is replaced", () => {
  const out = join(dir, "run-c");
  const path = join(out, LOCK_FILE);
  acquireRunLock(out, () => {}).release();
  writeFileSync(path, JSON.stringify({ pid: 1, host: "elsewhere.invalid", started: "2026-01-01T00:00:00.000Z" }));
  assert.throws(() => acquireRunLock(out, () => {}), /in use by process 1 on elsewhere\.invalid/);
  writeFileSync(path, "not json");
  const lines: string[] = [];
  acquireRunLock(out, (l) => lines.push(l)).release();
  assert.match(lines.join("\n"), /replacing an unreadable lock file/);
});

test("ercnn train into a held --out exits 1 naming the holder and writes nothing; after a kill it trains", async () => {
  const out = join(dir, "run-d");
  const args = ["src/cli/main.ts", "train", join(dir, "train"), "-o", out, "--epochs", "1", "-b", "16"];
  const cli = () =>
    spawnSync(process.execPath, ["--import", "tsx", ...args, "--workers", "1", "--threads", "1"], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    });
  const h = holder(out);
  try {
    await h.line;
    const r = cli();
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`in use by process ${h.child.pid}`));
    assert.ok(!existsSync(join(out, "config.json")), "the refused run wrote nothing");
    await kill(h.child);
    const ok = cli();
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /taking over the lock/);
    assert.ok(existsSync(join(out, "final.json")));
    assert.ok(!existsSync(join(out, LOCK_FILE)), "the finished run released its lock");
  } finally {
    await kill(h.child);
  }
});
