/**
 * Inputs other than a store's meta.json that name paths or sizes: a study label file, an archive's members, an
 * image's header, a key file's permissions, a download's redirects.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { crc32, deflateSync } from "node:zlib";
import { create } from "tar";
import { generateKey } from "../../src/cipher/index.ts";
import { writeNpy } from "../../src/core/npy.ts";
import { unpackArchive } from "../../src/data/archive.ts";
import { decodeImage } from "../../src/data/decode.ts";
import { download } from "../../src/data/download.ts";
import { BadImageError, DataError } from "../../src/data/errors.ts";
import { loadKey, saveKey } from "../../src/data/keyfile.ts";
import { parsePageManifest } from "../../src/data/page-export.ts";
import { readStudyLayout } from "../../src/data/study-layout.ts";
import { tempDir } from "./helpers.ts";

const t = tempDir("ercnn-untrusted-");
after(t.cleanup);

test("a study label file naming a file outside its folder is refused", () => {
  const dir = join(t.dir, "study");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(t.dir, "outside.npy"),
    writeNpy({ dtype: "float32", shape: [4, 4, 3], data: new Float32Array(48) }),
  );
  writeFileSync(join(dir, "0.npy"), writeNpy({ dtype: "float32", shape: [4, 4, 3], data: new Float32Array(48) }));
  writeFileSync(join(dir, "train_label.txt"), "0.npy 0\n../outside.npy 1\n");
  assert.throws(() => readStudyLayout(dir, "train"), /train_label\.txt:2.*'\.\.\/outside\.npy'.*folder/);
  writeFileSync(join(dir, "train_label.txt"), "0.npy 0\n/etc/x.npy 1\n");
  assert.throws(() => readStudyLayout(dir, "train"), /train_label\.txt:2/);
});

test("unpacking an archive keeps only files and folders: no links that point outside", async () => {
  const src = join(t.dir, "linksrc");
  mkdirSync(join(src, "ds", "a"), { recursive: true });
  writeFileSync(join(src, "ds", "a", "0.npy"), "x");
  symlinkSync("/etc/hostname", join(src, "ds", "a", "1.npy"));
  const file = join(t.dir, "links.tar");
  await create({ file, cwd: src, portable: true }, ["ds"]);
  const dest = await unpackArchive(file, join(t.dir, "cache"));
  const a = join(dest, "ds", "a");
  assert.ok(existsSync(join(a, "0.npy")));
  assert.deepEqual(
    readdirSync(a).filter((f) => lstatSync(join(a, f)).isSymbolicLink()),
    [],
    "no symbolic link was unpacked",
  );
});

/** A PNG whose header says w×h, with almost no pixel data (a decoder that starts decoding fails otherwise). */
function pngHeader(w: number, h: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(1000))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A baseline JPEG header (SOI, SOF0) that says w×h. */
function jpegHeader(w: number, h: number): Uint8Array {
  const sof = Buffer.from([
    0xff,
    0xc0,
    0,
    17,
    8,
    h >> 8,
    h & 255,
    w >> 8,
    w & 255,
    3,
    1,
    0x11,
    0,
    2,
    0x11,
    0,
    3,
    0x11,
    0,
  ]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof, Buffer.from([0xff, 0xd9])]);
}

test("a 16000×16000 image is refused from its header, naming the file and its size", async () => {
  for (const [bytes, opts] of [
    [pngHeader(16000, 16000), {}],
    [pngHeader(16000, 16000), { resize: 32 }],
    [jpegHeader(16000, 16000), {}],
  ] as const)
    await assert.rejects(decodeImage(bytes, "huge.img", opts), (e: Error) => {
      assert.ok(e instanceof BadImageError, String(e));
      assert.match(e.message, /huge\.img.*16000×16000.*limit/);
      return true;
    });
});

test("a key file others can read is used with a warning naming it and the chmod fix", async () => {
  const key = await generateKey({ blockSize: 2, seed: "perm" });
  const p = join(t.dir, "key.json");
  await saveKey(p, key);
  const warnings: string[] = [];
  await loadKey(p, { warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 0, "0600: no warning");
  chmodSync(p, 0o644);
  const k = await loadKey(p, { warn: (m) => warnings.push(m) });
  assert.equal(k.fingerprint, key.fingerprint);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`${p}.*0644.*chmod 600 ${p}`));
});

test("a key file that cannot be written is reported with its path", async () => {
  const key = await generateKey({ blockSize: 2, seed: "perm" });
  const p = join(t.dir, "not-a-dir", "key.json");
  writeFileSync(join(t.dir, "not-a-dir"), "a file, not a folder");
  await assert.rejects(saveKey(p, key), (e: Error) => {
    assert.ok(e.message.startsWith(`${p}: cannot write the key file`), e.message);
    return true;
  });
});

test("a download that redirects forever stops after a bounded number of hops", async () => {
  let hops = 0;
  const server = http.createServer((_req, res) => {
    hops++;
    res.writeHead(302, { location: `/r${hops}` });
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/start`;
  try {
    await assert.rejects(download(url, join(t.dir, "dl", "f.bin"), { retries: 1, timeoutMs: 5000 }), (e: Error) => {
      assert.ok(e instanceof DataError, String(e));
      assert.match(e.message, /redirect/);
      return true;
    });
    assert.ok(hops <= 21, `${hops} requests`);
  } finally {
    server.close();
  }
});

test("a page export's manifest with a class name that is not a folder name is refused naming the field", () => {
  const manifest = {
    format: "ercnn-page-export",
    version: 1,
    layout: "study",
    split: "train",
    key: { fingerprint: "a".repeat(64), mode: "uniform", blockSize: 4, channels: 3 },
    classes: ["cat", "../../ESCAPED"],
    shape: [3, 8, 8],
    decode: {},
    count: 1,
    skipped: [],
    createdAt: "2026-01-01T00:00:00Z",
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  assert.throws(
    () => parsePageManifest(bytes, "x.tar"),
    /x\.tar: ercnn-export\.json field classes\[1\].*path separator/,
  );
});
