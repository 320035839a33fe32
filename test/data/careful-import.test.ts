/**
 * The import paths as a careless user meets them (issue 12): each case failed or misled before it was fixed.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { generateKey, writeNpy } from "../../src/cipher/index.ts";
import { readArchiveImages } from "../../src/data/archive.ts";
import { decodeImage } from "../../src/data/decode.ts";
import { encryptDataset, overwriteScratch } from "../../src/data/encrypt-dataset.ts";
import { BadImageError, DataError } from "../../src/data/errors.ts";
import { readImageFolder } from "../../src/data/image-folder.ts";
import { readMeta, Store, shardProblems } from "../../src/data/store.ts";
import { readStudyLayout } from "../../src/data/study-layout.ts";
import { makeFolder, tempDir } from "./helpers.ts";

const t = tempDir("ercnn-careful-");
after(t.cleanup);
let key: Awaited<ReturnType<typeof generateKey>>;

before(async () => {
  key = await generateKey({ blockSize: 4, seed: "careful" });
});

/** A study layout dir with n good 8×8×3 ciphertexts, labels i % 2. */
function studyLayout(dir: string, n: number, labels?: number[]): void {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const data = Float32Array.from({ length: 8 * 8 * 3 }, (_, j) => Math.sin(i * 31 + j));
    writeFileSync(join(dir, `${i}.npy`), writeNpy({ dtype: "float32", shape: [8, 8, 3], data }));
    lines.push(`${i}.npy ${labels ? labels[i] : i % 2}`);
  }
  writeFileSync(join(dir, "train_label.txt"), `${lines.join("\n")}\n`);
}

describe("study layout", () => {
  test("a wrong shape, a missing file and a garbage .npy are bad images naming the file; --skip-bad skips them", async () => {
    const dir = join(t.dir, "study-bad");
    studyLayout(dir, 8);
    writeFileSync(join(dir, "2.npy"), writeNpy({ dtype: "float32", shape: [8, 8, 4], data: new Float32Array(256) }));
    writeFileSync(join(dir, "4.npy"), "this is not numpy");
    execFileSync("rm", [join(dir, "6.npy")]);
    const src = readStudyLayout(dir);
    await assert.rejects(
      encryptDataset({ source: src, out: join(t.dir, "sb1"), key: null, workers: 1 }),
      (e: Error) => {
        assert.ok(e instanceof BadImageError, `${e.name}: ${e.message}`);
        assert.doesNotMatch(e.message, /undefined/);
        assert.match(e.message, /bad image .*\/(2|4|6)\.npy: /);
        return true;
      },
    );
    const r = await encryptDataset({ source: src, out: join(t.dir, "sb2"), key: null, workers: 1, skipBad: true });
    assert.equal(r.meta.count, 5);
    const reasons = Object.fromEntries(r.skipped.map((s) => [s.name.replace(/.*\//, ""), s.reason]));
    assert.match(reasons["2.npy"], /shape \[8,8,4\] is not H×W×3/);
    assert.match(reasons["4.npy"], /not a \.npy file/);
    assert.match(reasons["6.npy"], /does not exist/);
  });

  test("NaN or Inf inside a ciphertext is refused at import, naming the file and the position", async () => {
    const dir = join(t.dir, "study-nan");
    studyLayout(dir, 4);
    const data = new Float32Array(8 * 8 * 3).fill(0.5);
    data[3 * (2 * 8 + 5) + 1] = Number.NaN; // row 2, column 5, channel 1
    writeFileSync(join(dir, "1.npy"), writeNpy({ dtype: "float32", shape: [8, 8, 3], data }));
    data[3 * (2 * 8 + 5) + 1] = 0;
    data[0] = Number.POSITIVE_INFINITY;
    writeFileSync(join(dir, "3.npy"), writeNpy({ dtype: "float32", shape: [8, 8, 3], data }));
    const src = readStudyLayout(dir);
    await assert.rejects(
      encryptDataset({ source: src, out: join(t.dir, "sn1"), key: null, workers: 1 }),
      /bad image .*\/1\.npy: value NaN at row 2, column 5, channel 1 is not finite/,
    );
    const r = await encryptDataset({ source: src, out: join(t.dir, "sn2"), key: null, workers: 1, skipBad: true });
    assert.equal(r.meta.count, 2);
    assert.ok(r.meta.stats!.mean.every(Number.isFinite), "the store's statistics stay finite");
    assert.deepEqual(r.skipped.map((s) => s.name.replace(/.*\//, "")).sort(), ["1.npy", "3.npy"]);
  });

  test("labels with gaps keep their ids but are named in a warning", async () => {
    const dir = join(t.dir, "study-gaps");
    studyLayout(dir, 4, [0, 3, 3, 5]);
    const src = readStudyLayout(dir);
    assert.equal(src.classes.length, 6);
    assert.equal(src.warnings?.length, 1);
    assert.match(src.warnings![0], /labels run 0\.\.5 but 3 of them never occur \(1, 2, 4\)/);
    const r = await encryptDataset({ source: src, out: join(t.dir, "sg"), key: null, workers: 1 });
    assert.deepEqual(r.warnings, src.warnings);
    const full = join(t.dir, "study-full");
    studyLayout(full, 4);
    assert.equal(readStudyLayout(full).warnings, undefined);
  });
});

describe("archives", () => {
  /** Byte offset of the n-th tar header (a block whose ustar magic sits at 257). */
  const headerOffset = (tar: string, n: number) => {
    const b = readFileSync(tar);
    let seen = 0;
    for (let off = 0; off + 512 <= b.length; off += 512)
      if (b.toString("latin1", off + 257, off + 262) === "ustar" && seen++ === n) return off;
    throw new Error(`no header ${n}`);
  };
  const make = async (name: string, cut: (size: number, tar: string) => number) => {
    const src = join(t.dir, `tar-${name}`);
    await makeFolder(join(src, "ds"), { classes: ["a", "b"], perClass: 20, size: 8 });
    const tar = join(t.dir, `${name}.tar`);
    execFileSync("tar", ["cf", tar, "-C", src, "ds"]);
    const size = statSync(tar).size;
    truncateSync(tar, cut(size, tar));
    execFileSync("gzip", ["-f", tar]); // a complete gzip around a truncated tar
    return `${tar}.gz`;
  };

  test("a tar truncated inside a complete gzip is refused, at a member boundary and inside a member", async () => {
    const whole = await make("whole", (s) => s);
    assert.equal((await readArchiveImages(whole)).items.length, 40);
    const atBoundary = await make("boundary", (_, tar) => headerOffset(tar, 30));
    await assert.rejects(readArchiveImages(atBoundary), (e: Error) => {
      assert.ok(e instanceof DataError);
      assert.match(
        e.message,
        /boundary\.tar\.gz is truncated or damaged \(the tar stream ends without its end-of-archive block\); \d+ member\(s\) were read/,
      );
      return true;
    });
    const inside = await make("inside", (s) => Math.floor((s * 0.8) / 512) * 512 + 700);
    await assert.rejects(readArchiveImages(inside), /inside\.tar\.gz is truncated or damaged/);
  });
});

describe("images", () => {
  test("an RGBA PNG with transparent pixels is flagged; an opaque alpha channel is not", async () => {
    const rgba = (alpha: number) => {
      const b = Buffer.alloc(8 * 8 * 4, 90);
      for (let i = 3; i < b.length; i += 4) b[i] = i < 40 ? alpha : 255;
      return sharp(b, { raw: { width: 8, height: 8, channels: 4 } })
        .png()
        .toBuffer();
    };
    const see = await decodeImage(new Uint8Array(await rgba(0)), "see.png");
    assert.equal(see.transparent, true);
    assert.equal(see.data.length, 8 * 8 * 3);
    assert.equal(see.data[0], 90, "the stored colour is kept, like PIL's convert('RGB')");
    assert.equal((await decodeImage(new Uint8Array(await rgba(255)), "opaque.png")).transparent, undefined);

    const root = join(t.dir, "alpha");
    await makeFolder(root, { classes: ["a", "b"], perClass: 3, size: 8 });
    writeFileSync(join(root, "b", "9.png"), await rgba(10));
    writeFileSync(join(root, "a", "8.png"), await rgba(255)); // opaque RGBA: nothing to say
    const r = await encryptDataset({ source: readImageFolder(root), out: join(t.dir, "alpha-store"), key, workers: 1 });
    assert.equal(r.meta.count, 8);
    assert.deepEqual(
      r.transparent.map((n) => n.replace(/.*alpha\//, "")),
      ["b/9.png"],
    );
  });
});

describe("stores", () => {
  test("--overwrite builds aside: a failing run leaves the old store intact; a good one replaces it", async () => {
    const good = join(t.dir, "ow-good");
    await makeFolder(good, { classes: ["a", "b"], perClass: 4, size: 8 });
    const out = join(t.dir, "ow-store");
    await encryptDataset({ source: readImageFolder(good), out, key, workers: 1, shardSize: 3 });
    writeFileSync(join(out, "NOTES.txt"), "mine");
    const before = readFileSync(join(out, "meta.json"), "utf8");

    const bad = join(t.dir, "ow-bad");
    await makeFolder(bad, { classes: ["a", "b", "c"], perClass: 6, size: 8 });
    writeFileSync(join(bad, "c", "5.png"), "not a png");
    await assert.rejects(
      encryptDataset({ source: readImageFolder(bad), out, key, workers: 1, shardSize: 3, overwrite: true }),
      /bad image .*5\.png.*the existing store .* was left unchanged/s,
    );
    assert.equal(readFileSync(join(out, "meta.json"), "utf8"), before);
    assert.equal(Store.open(out).readAll().n, 8);
    assert.throws(() => statSync(overwriteScratch(out)), /ENOENT/, "no scratch left behind");

    writeFileSync(join(bad, "c", "5.png"), readFileSync(join(bad, "c", "4.png")));
    const r = await encryptDataset({
      source: readImageFolder(bad),
      out,
      key,
      workers: 1,
      shardSize: 3,
      overwrite: true,
    });
    assert.equal(r.meta.count, 18);
    assert.equal(Store.open(out).readAll().n, 18);
    assert.equal(readFileSync(join(out, "NOTES.txt"), "utf8"), "mine", "other files in the folder are kept");
    assert.deepEqual(
      readdirSync(t.dir).filter((f) => f.startsWith("ow-store.")),
      [],
    );
  });

  test("a truncated shard: open refuses, naming the file; re-running encrypt repairs it instead of 'resuming'", async () => {
    const root = join(t.dir, "tr-src");
    await makeFolder(root, { classes: ["a", "b"], perClass: 5, size: 8 });
    const out = join(t.dir, "tr-store");
    const opts = { source: readImageFolder(root), out, key, workers: 1, shardSize: 4 };
    const first = await encryptDataset(opts);
    const all = Store.open(out).readAll({ shared: false });
    const x1 = join(out, "shard-00001.x.npy");
    truncateSync(x1, statSync(x1).size - 100);
    assert.throws(
      () => Store.open(out),
      /store .* is damaged: .*shard-00001\.x\.npy has \d+ bytes, \d+ expected for 4 images \(truncated\); re-run ercnn encrypt/,
    );
    assert.equal(shardProblems(out, readMeta(out)).length, 1);
    const again = await encryptDataset(opts);
    assert.equal(again.repaired.length, 1);
    assert.match(again.repaired[0], /shard-00001\.x\.npy has \d+ bytes/);
    assert.equal(again.written, 4);
    assert.equal(again.alreadyDone, first.meta.count - 4);
    const back = Store.open(out).readAll({ shared: false });
    assert.deepEqual(back.x, all.x);

    // Same size, different bytes: only the checksum sees it; resume re-encrypts that shard too.
    const y0 = join(out, "shard-00000.y.npy");
    const b = readFileSync(y0);
    b[b.length - 8] ^= 1;
    writeFileSync(y0, b);
    const third = await encryptDataset(opts);
    assert.match(third.repaired.join("\n"), /shard-00000\.y\.npy does not match its sha256/);
    assert.deepEqual(Store.open(out).readAll({ shared: false }).y, all.y);
  });
});
