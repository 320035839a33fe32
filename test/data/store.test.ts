import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decrypt, generateKey } from "../../src/cipher/index.ts";
import { writeFileAtomic } from "../../src/core/atomic.ts";
import { decodeImage, hwcU8ToChwF32 } from "../../src/data/decode.ts";
import { encryptDataset } from "../../src/data/encrypt-dataset.ts";
import { BadImageError, BlockSizeError, DataError, KeyMismatchError } from "../../src/data/errors.ts";
import { readImageFolder } from "../../src/data/image-folder.ts";
import { Store } from "../../src/data/store.ts";
import { makeFolder, tempDir, writeImage } from "./helpers.ts";

const t = tempDir();
after(t.cleanup);
const root = join(t.dir, "imgs");
let key: Awaited<ReturnType<typeof generateKey>>;
let key2: Awaited<ReturnType<typeof generateKey>>;

before(async () => {
  await makeFolder(root, { classes: ["a", "b", "c"], perClass: 7, size: 8 });
  key = await generateKey({ blockSize: 4, seed: "store-test" });
  key2 = await generateKey({ blockSize: 4, seed: "other" });
});

async function plainPixels(paths: string[]): Promise<Float32Array> {
  const out = new Float32Array(paths.length * 3 * 64);
  for (const [i, p] of paths.entries()) {
    const img = await decodeImage(readFileSync(p), p);
    hwcU8ToChwF32(img.data, 8, 8, out, i * 192);
  }
  return out;
}

describe("store", () => {
  test("folder → store → decrypt gives the pixels back (1e-5), numpy reads the shards", async () => {
    const out = join(t.dir, "s1");
    const src = readImageFolder(root);
    const r = await encryptDataset({ source: src, out, key, shardSize: 5, workers: 2, chunkSize: 2 });
    assert.equal(r.meta.count, 21);
    assert.equal(r.meta.shards.length, 5);
    assert.ok(r.meta.complete);
    assert.equal(r.meta.key!.fingerprint, key.fingerprint);
    assert.deepEqual(r.meta.shape, [3, 8, 8]);
    assert.equal(r.meta.stats!.mean.length, 3);
    const st = Store.open(out);
    const all = st.readAll({ shared: false });
    assert.deepEqual(
      [...all.y],
      src.items.map((i) => i.label),
    );
    const want = await plainPixels(src.items.map((i) => i.path!));
    assert.ok(
      all.x.some((v, i) => Math.abs(v - want[i]) > 0.01),
      "ciphertext differs from plaintext",
    );
    const got = decrypt(all.x, { n: 21, c: 3, h: 8, w: 8, layout: "CHW" }, key);
    let maxErr = 0;
    for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
    assert.ok(maxErr < 1e-5, `max error ${maxErr}`);
    // Key values never land in meta.json.
    const metaText = readFileSync(join(out, "meta.json"), "utf8");
    assert.ok(!metaText.includes(String(key.values[0])));
    const py = spawnSync(
      "/usr/bin/python3",
      [
        "-c",
        "import numpy as np,sys,json; d=sys.argv[1]; m=json.load(open(d+'/meta.json'));" +
          "x=np.concatenate([np.load(d+'/'+s['x']) for s in m['shards']]); y=np.concatenate([np.load(d+'/'+s['y']) for s in m['shards']]);" +
          "print(json.dumps([str(x.dtype), list(x.shape), str(y.dtype), list(y.shape), float(x[3,1,2,5])]))",
        out,
      ],
      { encoding: "utf8" },
    );
    if (py.error || py.status !== 0) assert.fail(`python: ${py.stderr || py.error}`);
    const [dt, shape, ydt, yshape, val] = JSON.parse(py.stdout);
    assert.equal(dt, "float32");
    assert.deepEqual(shape, [21, 3, 8, 8]);
    assert.equal(ydt, "int64");
    assert.deepEqual(yshape, [21]);
    assert.ok(Math.abs(Number(val) - all.x[3 * 192 + 64 + 2 * 8 + 5]) < 1e-6);
  });

  test("an interrupted encrypt resumes where it stopped and ends identical", async () => {
    const src = readImageFolder(root);
    const ref = join(t.dir, "ref");
    await encryptDataset({ source: src, out: ref, key, shardSize: 4, workers: 1 });
    const out = join(t.dir, "resume");
    const ac = new AbortController();
    await assert.rejects(
      encryptDataset({
        source: src,
        out,
        key,
        shardSize: 4,
        workers: 2,
        chunkSize: 2,
        signal: ac.signal,
        onShard: (i) => {
          if (i === 1) ac.abort();
        },
      }),
      /interrupted/,
    );
    const partial = Store.open(out).meta;
    assert.equal(partial.complete, false);
    assert.deepEqual(
      partial.shards.map((s) => s.index),
      [0, 1],
    );
    const r = await encryptDataset({ source: src, out, key, shardSize: 4, workers: 2 });
    assert.ok(r.resumed);
    assert.equal(r.alreadyDone, 8);
    assert.equal(r.written, 13);
    assert.ok(r.meta.complete);
    for (const f of readdirSync(ref).filter((f) => f.endsWith(".npy")))
      assert.deepEqual(readFileSync(join(out, f)), readFileSync(join(ref, f)), f);
    const a = Store.open(out).meta.stats!;
    const b = Store.open(ref).meta.stats!;
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(a.mean[c] - b.mean[c]) < 1e-9);
  });

  test("a store is never continued with another key (or plain)", async () => {
    const src = readImageFolder(root);
    const out = join(t.dir, "s1");
    const before = readFileSync(join(out, "meta.json"), "utf8");
    await assert.rejects(encryptDataset({ source: src, out, key: key2, shardSize: 5 }), KeyMismatchError);
    await assert.rejects(encryptDataset({ source: src, out, key: null, shardSize: 5 }), /no key \(plain\)/);
    assert.throws(() => Store.open(out).checkKey(key2), /was written with key .* but key .* was given/);
    assert.equal(readFileSync(join(out, "meta.json"), "utf8"), before);
    await assert.rejects(encryptDataset({ source: src, out, key, shardSize: 3 }), /different dataset or options/);
  });

  test("sizes not divisible by k are refused with the sizes", async () => {
    const d = join(t.dir, "odd");
    await makeFolder(d, { classes: ["x"], perClass: 2, size: 10 });
    await assert.rejects(
      encryptDataset({ source: readImageFolder(d), out: join(t.dir, "odd-store"), key }),
      (e: unknown) => e instanceof BlockSizeError && /10×10 is not divisible by block size 4/.test(e.message),
    );
    assert.ok(!existsSync(join(t.dir, "odd-store", "meta.json")));
  });

  test("a corrupt image names the file, --skip-bad skips and counts it", async () => {
    const d = join(t.dir, "bad");
    await makeFolder(d, { classes: ["x", "y"], perClass: 3, size: 8 });
    const good = readFileSync(join(d, "y", "1.png"));
    writeFileSync(join(d, "y", "1.png"), good.subarray(0, good.length - 20));
    writeFileSync(join(d, "x", "2.png"), "garbage");
    const src = readImageFolder(d);
    await assert.rejects(
      encryptDataset({ source: src, out: join(t.dir, "bad-store"), key, shardSize: 2 }),
      (e: unknown) => {
        assert.ok(e instanceof BadImageError, String(e));
        assert.match(e.message, /bad image .*x\/2\.png/);
        return true;
      },
    );
    // Shards before the bad one stay intact.
    const partial = Store.open(join(t.dir, "bad-store")).meta;
    assert.deepEqual(
      partial.shards.map((s) => s.index),
      [0],
    );
    const r = await encryptDataset({ source: src, out: join(t.dir, "bad-store2"), key, shardSize: 2, skipBad: true });
    assert.equal(r.skipped.length, 2);
    assert.equal(r.meta.count, 4);
    assert.ok(r.meta.complete);
    assert.deepEqual(r.skipped.map((s) => s.name.split("/").slice(-2).join("/")).sort(), ["x/2.png", "y/1.png"]);
  });

  test("different image sizes without --resize/--crop are reported by file", async () => {
    const d = join(t.dir, "mixed");
    await makeFolder(d, { classes: ["x"], perClass: 2, size: 8 });
    await writeImage(join(d, "x", "9.png"), 12, 8, 1);
    await assert.rejects(
      encryptDataset({ source: readImageFolder(d), out: join(t.dir, "mixed-store"), key }),
      /9\.png: size 12×8 differs from the dataset's 8×8/,
    );
  });

  test("a full disk leaves the last complete shard intact; the run resumes later", async () => {
    const src = readImageFolder(root);
    const out = join(t.dir, "full");
    let writes = 0;
    const failing = async (p: string, d: string | Uint8Array) => {
      if (p.endsWith(".npy") && ++writes > 4) {
        const e = new Error("ENOSPC: no space left on device") as NodeJS.ErrnoException;
        e.code = "ENOSPC";
        throw e;
      }
      await writeFileAtomic(p, d);
    };
    await assert.rejects(encryptDataset({ source: src, out, key, shardSize: 5, writeFile: failing }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.equal(e.code, "DISK_FULL");
      assert.match(e.message, /keeps its 2 complete shard/);
      return true;
    });
    const st = Store.open(out);
    assert.equal(st.meta.shards.length, 2);
    assert.equal(st.readShard(1).n, 5);
    assert.ok(!readdirSync(out).some((f) => f.endsWith(".tmp")));
    const r = await encryptDataset({ source: src, out, key, shardSize: 5 });
    assert.ok(r.meta.complete);
    assert.equal(r.meta.count, 21);
  });

  test("plain stores have key null and hold the pixels", async () => {
    const src = readImageFolder(root);
    const out = join(t.dir, "plain");
    const r = await encryptDataset({ source: src, out, key: null });
    assert.equal(r.meta.key, null);
    const all = Store.open(out).readAll({ shared: false });
    const want = await plainPixels(src.items.map((i) => i.path!));
    assert.deepEqual(all.x, want);
  });
});
