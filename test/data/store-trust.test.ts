/**
 * A store is untrusted input: every field of meta.json must agree with the shards, names never become paths outside
 * the store or the output folder, and non-finite values or out-of-range labels are refused naming the shard.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { readNpy, writeNpy } from "../../src/core/npy.ts";
import { encryptDataset } from "../../src/data/encrypt-dataset.ts";
import { DataError } from "../../src/data/errors.ts";
import { readImageFolder } from "../../src/data/image-folder.ts";
import { Store } from "../../src/data/store.ts";
import { statsFromShards } from "../../src/data/store-meta.ts";
import { makeFolder, tempDir } from "./helpers.ts";

const t = tempDir("ercnn-trust-");
after(t.cleanup);
const good = join(t.dir, "good");
let copies = 0;

before(async () => {
  const root = join(t.dir, "imgs");
  await makeFolder(root, { classes: ["a", "b", "c"], perClass: 4, size: 8 });
  const key = await generateKey({ blockSize: 4, seed: "store-trust" });
  await encryptDataset({ source: readImageFolder(root), out: good, key, shardSize: 5, workers: 1 });
});

/** A fresh copy of the good store with `edit` applied to its meta.json. */
function tampered(edit: (m: any) => void): string {
  const dir = join(t.dir, `copy-${copies++}`);
  cpSync(good, dir, { recursive: true });
  const p = join(dir, "meta.json");
  const m = JSON.parse(readFileSync(p, "utf8"));
  edit(m);
  writeFileSync(p, JSON.stringify(m));
  return dir;
}

function refused(dir: string, field: RegExp, open: () => unknown = () => Store.open(dir)): void {
  assert.throws(open, (e: Error) => {
    assert.ok(e instanceof DataError, `${e}`);
    assert.ok(e.message.includes(dir), `names the store: ${e.message}`);
    assert.match(e.message, field);
    return true;
  });
}

describe("meta.json must agree with the shards", () => {
  test("the untouched store opens and reads all 12 images", () => {
    const st = Store.open(good);
    assert.equal(st.readAll({ shared: false }).n, 12);
  });

  test("a top-level count that is not the shards' total is refused (was: 999 images, 987 zeros)", () => {
    refused(
      tampered((m) => {
        m.count = 999;
      }),
      /count.*999.*12/,
    );
  });

  test("a shard count that its .npy headers contradict is refused naming the field", () => {
    refused(
      tampered((m) => {
        m.shards[0].count = 4;
        m.count = 11;
      }),
      /shards\[0\]\.count.*4.*5/,
    );
  });

  test("a shape with the same number of values as the shards' headers is still refused", () => {
    refused(
      tampered((m) => {
        m.shape = [3, 4, 16];
      }),
      /shape/,
    );
  });

  test("labels outside the class list are refused naming the shard", () => {
    refused(
      tampered((m) => {
        m.classes = ["a", "b"];
      }),
      /shard-0000\d\.y\.npy.*label 2.*2 classes/,
    );
  });

  test("shard sums and store statistics that the data contradict are refused", () => {
    const dir = tampered((m) => {
      m.stats.mean[1] += 0.5;
    });
    refused(dir, /stats\.mean\[1\]/);
    // A consistent lie: a shard's sum and the statistics agree with each other, not with the data.
    const dir2 = tampered((m) => {
      m.shards[1].sum[0] += 3;
      m.stats = statsFromShards(m.shards, 3, 64);
    });
    const st = Store.open(dir2);
    assert.doesNotThrow(() => st.readShard(0));
    refused(dir2, /shard-00001\.x\.npy.*sums.*channel 0/, () => st.readShard(1));
  });

  // Each row: a field, a lie about it, and what the refusal must name.
  const lies: [string, (m: any) => void, RegExp][] = [
    ["format", (m) => (m.format = "other"), /format/],
    ["version", (m) => (m.version = "1"), /version/],
    ["blockSize", (m) => (m.blockSize = 8), /blockSize/],
    ["key.channels", (m) => (m.key.channels = 1), /key\.channels/],
    ["key.fingerprint", (m) => (m.key.fingerprint = "abc"), /key\.fingerprint/],
    ["key.mode", (m) => (m.key.mode = "rot13"), /key\.mode/],
    ["dtype", (m) => (m.dtype = "float64"), /dtype/],
    ["labelDtype", (m) => (m.labelDtype = "int32"), /labelDtype/],
    ["layout", (m) => (m.layout = "NHWC"), /layout/],
    ["classNames", (m) => (m.classNames = ["x"]), /classNames/],
    ["plan.total", (m) => (m.plan.total = 20), /plan\.total|shards\[2\]\.end/],
    ["plan.shardSize", (m) => (m.plan.shardSize = 0), /plan\.shardSize/],
    ["shards[1].index", (m) => (m.shards[1].index = 0), /shards\[1\]\.index/],
    ["shards[1].start", (m) => (m.shards[1].start = 4), /shards\[1\]\.start/],
    ["shards[0].skipped", (m) => m.shards[0].skipped.push({ name: "x", reason: "y" }), /shards\[0\]/],
    ["shards[0].sum", (m) => (m.shards[0].sum = [1, 2]), /shards\[0\]\.sum/],
    ["shards[0].xSha256", (m) => (m.shards[0].xSha256 = 5), /shards\[0\]\.xSha256/],
    ["complete", (m) => m.shards.pop(), /complete|count/],
    ["shards", (m) => (m.shards = {}), /shards/],
    ["classes (duplicate)", (m) => (m.classes = ["a", "a", "c"]), /classes\[1\].*twice|duplicate/],
  ];
  for (const [field, lie, names] of lies)
    test(`a wrong ${field} is refused naming it`, () => refused(tampered(lie), names));
});

describe("names in meta.json never become paths outside the store", () => {
  for (const bad of ["../../ESCAPED_x", "a/b", "..", ".", "", "x\0y", "a\\b", "x".repeat(300), 7])
    test(`class name ${JSON.stringify(bad).slice(0, 30)} is refused`, () =>
      refused(
        tampered((m) => {
          m.classes[0] = bad;
        }),
        /classes\[0\]/,
      ));

  test("a shard file name that leaves the store is refused before anything is read", () => {
    const other = join(t.dir, "other");
    cpSync(good, other, { recursive: true });
    refused(
      tampered((m) => {
        m.shards[0].x = "../other/shard-00000.x.npy";
      }),
      /shards\[0\]\.x/,
    );
  });

  test("a store writer refuses a class name that is not a folder name", async () => {
    const root = join(t.dir, "imgs");
    const src = readImageFolder(root);
    const out = join(t.dir, "bad-classes");
    await assert.rejects(
      encryptDataset({ source: { ...src, classes: ["../up", "b", "c"] }, out, key: null, workers: 1 }),
      /class.*'\.\.\/up'/,
    );
    assert.ok(!existsSync(join(out, "meta.json")), "no store was started");
  });
});

describe("values are checked when a shard is read", () => {
  test("a NaN pixel is refused naming the shard file and the position (readAll and readShard)", () => {
    const dir = tampered(() => {});
    const f = join(dir, "shard-00001.x.npy");
    const a = readNpy(new Uint8Array(readFileSync(f)), f);
    (a.data as Float32Array)[200] = Number.NaN;
    writeFileSync(f, writeNpy(a));
    const st = Store.open(dir);
    assert.doesNotThrow(() => st.readShard(0));
    refused(dir, /shard-00001\.x\.npy.*image 1.*not finite/, () => st.readShard(1));
    refused(dir, /shard-00001\.x\.npy.*not finite/, () => st.readAll({ shared: false }));
  });

  test("an infinite value is refused too", () => {
    const dir = tampered(() => {});
    const f = join(dir, "shard-00002.x.npy");
    const a = readNpy(new Uint8Array(readFileSync(f)), f);
    (a.data as Float32Array)[0] = Number.POSITIVE_INFINITY;
    writeFileSync(f, writeNpy(a));
    refused(dir, /shard-00002\.x\.npy.*not finite/, () => Store.open(dir).readAll({ shared: false }));
  });
});

test("-w 1000 on a small store runs at most one worker per core and per chunk", async () => {
  const out = join(t.dir, "many-workers");
  const r = await encryptDataset({
    source: readImageFolder(join(t.dir, "imgs")),
    out,
    key: null,
    workers: 1000,
    chunkSize: 4,
  });
  assert.equal(r.meta.count, 12);
  assert.ok(r.workers >= 1 && r.workers <= Math.min(availableParallelism(), 3), `workers ${r.workers}`);
  assert.deepEqual(readdirSync(out).sort(), ["meta.json", "shard-00000.x.npy", "shard-00000.y.npy"]);
});

test("a worker pool never starts more workers than there are cores (the loader's --workers too)", async () => {
  const { WorkerPool } = await import("../../src/data/pool.ts");
  const pool = new WorkerPool(64, { role: "encode", key: null, decode: {}, shape: [3, 8, 8], skipBad: false });
  try {
    assert.equal(pool.size, Math.min(64, availableParallelism()));
  } finally {
    await pool.close();
  }
});
