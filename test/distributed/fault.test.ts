// Faults: a rank killed with SIGKILL or stopped (SIGSTOP) in the middle of collectives makes the others fail promptly
// (the hung one after the collective timeout), naming it.
// SIGKILL hits rank 0 here (it also hosts the rendezvous store); train-nproc.test.ts kills rank 1 mid-training.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort, lastJson, nodeRank, type Proc, rankEnv } from "./helpers.ts";

async function whenReady(p: Proc, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!p.stdout().includes("ready")) {
    if (Date.now() - t0 > ms || p.child.exitCode !== null) throw new Error(`rank never became ready: ${p.stdout()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a rank killed or hung mid-collective", () => {
  for (const victim of [0]) {
    it(`SIGKILL of rank ${victim}: the survivor exits non-zero within the timeout and names rank ${victim}`, async () => {
      const port = await freePort();
      const env = (r: number) => ({ ...rankEnv(port, r, 2), ERCNN_TEST_DIST_TIMEOUT_MS: "20000" });
      const ranks = [nodeRank("fault", env(0)), nodeRank("fault", env(1))];
      await Promise.all(ranks.map((p) => whenReady(p)));
      await new Promise((r) => setTimeout(r, 300));
      const killedAt = Date.now();
      ranks[victim].child.kill("SIGKILL");
      const survivor = await ranks[1 - victim].done;
      const killed = await ranks[victim].done;
      assert.equal(killed.signal, "SIGKILL");
      assert.equal(survivor.code, 3, `survivor should fail: ${survivor.stderr}`);
      // The failed collective reports the silent ranks; when rank 0 dies, c10d's store thread may notice first and
      // the addon's terminate handler reports it (no JSON line then, same exit code and message).
      if (survivor.stdout.includes("{")) assert.deepEqual(lastJson(survivor).ranks, [victim]);
      assert.match(survivor.stderr, new RegExp(`rank ${victim} (stopped|is gone)`));
      assert.ok(Date.now() - killedAt < 25_000, `took ${Date.now() - killedAt} ms`);
    });
  }

  it("a hung rank (SIGSTOP): the survivor fails after --dist-timeout and names it", async () => {
    const port = await freePort();
    const env = (r: number) => ({ ...rankEnv(port, r, 2), ERCNN_TEST_DIST_TIMEOUT_MS: "8000" });
    const ranks = [nodeRank("fault", env(0)), nodeRank("fault", env(1))];
    try {
      await Promise.all(ranks.map((p) => whenReady(p)));
      ranks[1].child.kill("SIGSTOP");
      const stoppedAt = Date.now();
      const r0 = await ranks[0].done;
      assert.equal(r0.code, 3, r0.stderr);
      assert.match(r0.stderr, /rank 1 stopped \(no heartbeat\)/);
      assert.deepEqual(lastJson(r0).ranks, [1]);
      assert.ok(Date.now() - stoppedAt < 30_000, `took ${Date.now() - stoppedAt} ms`);
    } finally {
      ranks[1].child.kill("SIGKILL");
      await ranks[1].done;
    }
  });
});
