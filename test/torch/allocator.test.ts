// The CPU allocator's cache of large blocks (native/src/allocator.cc): a freed block of 1 MB or more is handed out
// again for the same size class, so filling it a second time page-faults nothing (Linux's own count of this
// process's minor faults, /proc/self/stat); a live tensor's block is never handed out twice; other sizes miss;
// emptyCache gives the blocks back; ERCNN_ALLOCATOR_CACHE_MB=0 turns the cache off.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { cpuAllocator, empty } from "../../src/torch/index.ts";

const skip = process.env.ERCNN_DEFAULT_ALLOCATOR ? "c10's allocator in use (ERCNN_DEFAULT_ALLOCATOR)" : false;

/** This process's minor page faults so far (field 10 of /proc/self/stat). */
function minorFaults(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
}

const MB = 1 << 20;
/** A float32 tensor of `mb` MiB filled with v (every page touched). */
function filled(mb: number, v: number) {
  const t = empty([(mb * MB) / 4]);
  t.fill_(v);
  return t;
}

test("a freed 64 MiB block is reused without page faults; live blocks are never shared", { skip }, () => {
  cpuAllocator.emptyCache();
  const s0 = cpuAllocator.stats();
  assert.equal(s0.installed, true);
  assert.ok(s0.capBytes >= 256 * MB, `cap ${s0.capBytes}`);
  assert.equal(s0.heldBytes, 0);
  const a = filled(64, 1);
  a.dispose();
  assert.equal(cpuAllocator.stats().heldBytes, 64 * MB);
  const f0 = minorFaults();
  const b = filled(64, 2);
  const faults = minorFaults() - f0;
  const s1 = cpuAllocator.stats();
  assert.equal(s1.hits - s0.hits, 1);
  assert.equal(s1.misses - s0.misses, 1);
  // 16,384 pages of 4 KiB would fault in a fresh block
  assert.ok(faults < 2000, `${faults} minor faults filling a reused block`);
  // b holds the block: a second 64 MiB tensor gets another one, and each keeps its own values
  const c = filled(64, 3);
  assert.equal(cpuAllocator.stats().misses - s0.misses, 2);
  assert.ok(b.toFloat32Array().every((v) => v === 2));
  assert.ok(c.toFloat32Array().every((v) => v === 3));
  // another size class misses; small tensors do not count
  const d = filled(70, 4);
  const tiny = filled(0.25, 5);
  const s2 = cpuAllocator.stats();
  assert.equal(s2.misses - s0.misses, 3);
  assert.equal(s2.hits - s0.hits, 1);
  for (const t of [b, c, d, tiny]) t.dispose();
  assert.ok(cpuAllocator.stats().heldBytes >= (64 + 64 + 70) * MB);
  cpuAllocator.emptyCache();
  assert.equal(cpuAllocator.stats().heldBytes, 0);
});

test("ERCNN_ALLOCATOR_CACHE_MB=0 turns the cache off (every fill of a fresh block faults its pages in)", {
  skip,
}, () => {
  const script = [
    'import { cpuAllocator, empty } from "./src/torch/index.ts";',
    "for (let i = 0; i < 3; i++) { const t = empty([16 << 20]); t.fill_(1); t.dispose(); }",
    "console.log(JSON.stringify(cpuAllocator.stats()));",
  ].join("\n");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { ...process.env, ERCNN_ALLOCATOR_CACHE_MB: "0" },
  });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(s.capBytes, 0);
  assert.equal(s.hits, 0);
  assert.equal(s.heldBytes, 0);
});
