import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readArchiveImages, unpackArchive } from "../../src/data/archive.ts";
import { readCifarBinary } from "../../src/data/cifar-binary.ts";
import { decodedSize, decodeImage } from "../../src/data/decode.ts";
import { BadImageError, DataError } from "../../src/data/errors.ts";
import { readImageFolder } from "../../src/data/image-folder.ts";
import { makeFolder, makeTarGz, pattern, tempDir, writeImage } from "./helpers.ts";

const t = tempDir();
after(t.cleanup);

describe("image folder", () => {
  const root = join(t.dir, "folder");
  before(async () => {
    await makeFolder(root, { classes: ["b", "a"], perClass: 3 });
    writeFileSync(join(root, "a", "notes.txt"), "x");
  });

  test("classes sorted, items ordered, non-images ignored", () => {
    const s = readImageFolder(root);
    assert.deepEqual(s.classes, ["a", "b"]);
    assert.equal(s.items.length, 6);
    assert.deepEqual(
      s.items.map((i) => i.label),
      [0, 0, 0, 1, 1, 1],
    );
  });

  test("empty class folder is reported", () => {
    mkdirSync(join(t.dir, "withempty", "x"), { recursive: true });
    mkdirSync(join(t.dir, "withempty", "y"), { recursive: true });
    writeFileSync(join(t.dir, "withempty", "x", "0.png"), "");
    assert.throws(() => readImageFolder(join(t.dir, "withempty")), /empty class folder in .*: y/);
  });

  test("greyscale, alpha, jpeg and webp decode to RGB", async () => {
    const d = join(t.dir, "formats");
    mkdirSync(d, { recursive: true });
    await writeImage(join(d, "g.png"), 6, 5, 1, "png", 1);
    await writeImage(join(d, "a.png"), 6, 5, 1, "png", 4);
    await writeImage(join(d, "w.webp"), 6, 5, 1, "webp");
    await writeImage(join(d, "j.jpg"), 6, 5, 1, "jpg");
    const { readFileSync } = await import("node:fs");
    const g = await decodeImage(readFileSync(join(d, "g.png")), "g");
    assert.equal(g.data.length, 6 * 5 * 3);
    assert.equal(g.data[0], g.data[1]);
    const a = await decodeImage(readFileSync(join(d, "a.png")), "a");
    const src = pattern(6, 5, 1, 4);
    assert.deepEqual([...a.data.subarray(0, 3)], [src[0], src[1], src[2]]);
    const w = await decodeImage(readFileSync(join(d, "w.webp")), "w");
    assert.deepEqual([...w.data.subarray(0, 6)], [...pattern(6, 5, 1).subarray(0, 6)]);
    const j = await decodeImage(readFileSync(join(d, "j.jpg")), "j");
    assert.equal(j.h, 6);
    assert.equal(j.w, 5);
  });

  test("resize + centre crop like Resize(s)+CenterCrop(c)", async () => {
    assert.deepEqual(decodedSize(300, 400, { resize: 256 }), { h: 256, w: 341 });
    assert.deepEqual(decodedSize(300, 400, { resize: 256, crop: 224 }), { h: 224, w: 224 });
    const p = join(t.dir, "big.png");
    await writeImage(p, 30, 40, 3);
    const { readFileSync } = await import("node:fs");
    const img = await decodeImage(readFileSync(p), p, { resize: 16, crop: 12 });
    assert.equal(img.h, 12);
    assert.equal(img.w, 12);
  });

  test("corrupt and truncated images name the file", async () => {
    const p = join(t.dir, "ok.jpg");
    await writeImage(p, 16, 16, 2, "jpg");
    const { readFileSync } = await import("node:fs");
    const bytes = readFileSync(p);
    await assert.rejects(decodeImage(bytes.subarray(0, bytes.length >> 1), "half.jpg"), (e: unknown) => {
      assert.ok(e instanceof BadImageError);
      assert.equal(e.file, "half.jpg");
      return true;
    });
    await assert.rejects(decodeImage(Buffer.from("not an image"), "junk.png"), /bad image junk.png/);
  });
});

describe("archives", () => {
  test("read directly and unpack once into the cache", async () => {
    const src = join(t.dir, "arch");
    await makeFolder(join(src, "ds", "train"), { classes: ["c1", "c2"], perClass: 2 });
    await makeFolder(join(src, "ds", "test"), { classes: ["c1", "c2"], perClass: 1 });
    const file = join(t.dir, "ds.tar.gz");
    await makeTarGz(file, src, ["ds"]);
    await assert.rejects(readArchiveImages(file), /several roots/);
    const s = await readArchiveImages(file, { split: "train" });
    assert.deepEqual(s.classes, ["c1", "c2"]);
    assert.equal(s.items.length, 4);
    assert.ok(s.items[0].bytes && s.items[0].bytes.length > 0);
    const cache = join(t.dir, "cache");
    const dir = await unpackArchive(file, cache);
    assert.ok(existsSync(join(dir, "ds", "test", "c2", "0.png")));
    assert.equal(await unpackArchive(file, cache), dir);
    assert.equal(readImageFolder(join(dir, "ds", "test")).items.length, 2);
  });

  test("a missing archive is reported", async () => {
    await assert.rejects(readArchiveImages(join(t.dir, "nope.tar.gz")), DataError);
  });
});

describe("CIFAR-10 binary batches", () => {
  function batch(n: number, seed: number): Buffer {
    const b = Buffer.alloc(n * 3073);
    for (let i = 0; i < n; i++) {
      b[i * 3073] = (i + seed) % 10;
      for (let j = 1; j < 3073; j++) b[i * 3073 + j] = (i * 3 + j + seed) & 255;
    }
    return b;
  }
  test("reads a directory and a tar.gz, rejects a truncated batch", async () => {
    const d = join(t.dir, "cb", "cifar-10-batches-bin");
    mkdirSync(d, { recursive: true });
    for (let i = 1; i <= 5; i++) writeFileSync(join(d, `data_batch_${i}.bin`), batch(3, i));
    writeFileSync(join(d, "test_batch.bin"), batch(2, 9));
    const s = await readCifarBinary(join(t.dir, "cb"), "train");
    assert.equal(s.items.length, 15);
    assert.equal(s.items[0].label, 1);
    assert.equal(s.items[0].chw![0], (0 + 1 + 1) & 255);
    const file = join(t.dir, "cifar-10-binary.tar.gz");
    await makeTarGz(file, join(t.dir, "cb"), ["cifar-10-batches-bin"]);
    const s2 = await readCifarBinary(file, "test");
    assert.equal(s2.items.length, 2);
    writeFileSync(join(d, "test_batch.bin"), batch(2, 9).subarray(0, 5000));
    await assert.rejects(
      readCifarBinary(join(t.dir, "cb"), "test"),
      /test_batch.bin is truncated or corrupt: 5000 bytes/,
    );
  });
});
