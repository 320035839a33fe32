// The --nproc launcher: torchrun's variables, a working group, a failed rank stopping the rest, signal forwarding.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "./helpers.ts";

const launcher = (args: string[], timeoutMs = 90_000) =>
  run(process.execPath, ["--import", "tsx", "test/distributed/launcher-main.ts", ...args], {}, timeoutMs);

function jsonLines(s: string): any[] {
  return s
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("launchRanks (--nproc)", () => {
  it("starts N ranks with MASTER_ADDR/WORLD_SIZE/RANK/LOCAL_RANK and a per-rank thread count; they form one group", async () => {
    const r = await launcher(["2", "ok"]).done;
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    const ranks = lines.filter((l) => "rank" in l).sort((a, b) => a.rank - b.rank);
    assert.deepEqual(
      ranks.map((l) => l.env),
      [0, 1].map((i) => ["127.0.0.1", "2", String(i), String(i), "1"]),
    );
    for (const l of ranks) assert.equal(l.sum, 3);
    assert.deepEqual(lines.at(-1), { code: 0, failedRank: null, codes: [0, 0] });
  });

  it("a rank that fails makes the launcher stop the others after the grace period and exit with its code", async () => {
    const r = await launcher(["2", "fail", "1500"]).done;
    const res = jsonLines(r.stdout).at(-1);
    assert.equal(r.code, 5);
    assert.equal(res.failedRank, 1);
    assert.notEqual(res.codes[0], 0, "rank 0 (stuck in the rendezvous) must have been stopped");
    assert.match(r.stderr, /rank 1 exited with code 5/);
  });

  it("SIGTERM to the launcher reaches every rank; none is left running", async () => {
    const p = launcher(["2", "sleep"]);
    const t0 = Date.now();
    while (jsonLines(p.stdout()).length < 2) {
      assert.ok(Date.now() - t0 < 60_000, "ranks did not start");
      await new Promise((res) => setTimeout(res, 100));
    }
    const pids = jsonLines(p.stdout()).map((l) => l.pid);
    p.child.kill("SIGTERM");
    const r = await p.done;
    assert.notEqual(r.code, 0);
    for (const pid of pids) assert.equal(alive(pid), false, `rank pid ${pid} still running`);
  });
});
