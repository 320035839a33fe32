// The import side of the page's dataset export, without a browser: archives built with the page's own tar writer
// (web/tar.ts) and manifest layout are read by node-tar in `ercnn encrypt`; careless or damaged exports are refused
// with the file and the problem named, and no complete store is written.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { generateKey, writeNpy } from "../../src/cipher/index.ts";
import { runEncrypt } from "../../src/cli/commands/encrypt.ts";
import { Store } from "../../src/data/index.ts";
import { tarEnd, tarMember } from "../../web/tar.ts";
import { tempDir } from "../data/helpers.ts";

const t = tempDir("ercnn-web-import-");
after(t.cleanup);
process.env.ERCNN_CACHE = join(t.dir, "cache");
const key = await generateKey({ blockSize: 2, seed: "web-import" });

function manifest(over: Record<string, unknown> = {}) {
  return {
    format: "ercnn-page-export",
    version: 1,
    layout: "study",
    split: "train",
    key: { fingerprint: key.fingerprint, mode: key.mode, blockSize: 2, channels: 3 },
    classes: ["ant", "bee"],
    shape: [3, 4, 4],
    decode: {},
    count: 3,
    skipped: [],
    createdAt: new Date().toISOString(),
    ...over,
  };
}

/** An export as the page writes it: manifest, `{i}.npy` H×W×3 values, label file, end blocks. */
function writeExport(name: string, o: { manifest?: object; labels?: string; values?: number[] } = {}): string {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [...tarMember("ercnn-export.json", enc.encode(JSON.stringify(o.manifest ?? manifest())))];
  for (let i = 0; i < 3; i++) {
    const data = new Float32Array(48).map((_, j) => o.values?.[j] ?? (i * 48 + j) / 100);
    parts.push(...tarMember(`${i}.npy`, writeNpy({ dtype: "float32", shape: [4, 4, 3], data })));
  }
  parts.push(...tarMember("train_label.txt", enc.encode(o.labels ?? "0.npy 0\n1.npy 1\n2.npy 1\n")), tarEnd());
  const file = join(t.dir, name);
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

test("an export imports without the key: values as written (H×W×3 → C×H×W), classes and key identity", async () => {
  const file = writeExport("ok.tar");
  const out = join(t.dir, "ok-store");
  await runEncrypt(file, { out, json: true });
  const s = Store.open(out);
  assert.deepEqual(s.meta.classes, ["ant", "bee"]);
  assert.equal(s.meta.key?.fingerprint, key.fingerprint);
  // A manifest without key.scrambled (every page before the flag, and any key without scrambling): not flagged.
  assert.equal("scrambled" in s.meta.key!, false);
  assert.deepEqual(s.meta.shape, [3, 4, 4]);
  const all = s.readAll();
  assert.deepEqual(Array.from(all.y), [0, 1, 1]);
  // Image 1, channel 2, row 3, column 1 came from HWC index (3·4 + 1)·3 + 2 of file 1.
  const hwc = (3 * 4 + 1) * 3 + 2;
  assert.equal(all.x[1 * 48 + 2 * 16 + 3 * 4 + 1], Math.fround((48 + hwc) / 100));
});

test("damaged or careless exports are refused, naming the archive and the problem; no complete store", async () => {
  const cases: [string, Parameters<typeof writeExport>[1], RegExp][] = [
    ["version.tar", { manifest: manifest({ version: 2 }) }, /version\.tar: ercnn-export\.json has version 2/],
    ["fp.tar", { manifest: manifest({ key: { ...manifest().key, fingerprint: "abc" } }) }, /key\.fingerprint/],
    ["shape.tar", { manifest: manifest({ shape: [3, 5, 4] }) }, /shape 3×5×4 is not a multiple of the block size 2/],
    ["count.tar", { manifest: manifest({ count: 4 }) }, /lists 3 images, the manifest 4/],
    ["label.tar", { labels: "0.npy 0\n1.npy 1\n2.npy 2\n" }, /label 2, but the export names 2 classes/],
    ["nan.tar", { values: [Number.NaN] }, /0\.npy/],
    [
      "scrambled.tar",
      { manifest: manifest({ key: { ...manifest().key, scrambled: "yes" } }) },
      /scrambled\.tar: ercnn-export\.json field key\.scrambled must be true or false, not "yes"/,
    ],
  ];
  for (const [name, o, message] of cases) {
    const out = join(t.dir, `${name}-store`);
    await assert.rejects(runEncrypt(writeExport(name, o), { out, json: true }), message, name);
    // Manifest problems stop before a store is opened; a bad image stops mid-way (an unfinished store, resumable).
    const meta = join(out, "meta.json");
    assert.ok(
      !existsSync(meta) || (name === "nan.tar" && !Store.open(out).meta.complete),
      `${name}: no complete store`,
    );
  }
  const other = await generateKey({ blockSize: 2, seed: "web-import-other" });
  const { saveKey } = await import("../../src/data/keyfile.ts");
  await saveKey(join(t.dir, "other.json"), other);
  await assert.rejects(
    runEncrypt(writeExport("key.tar"), { out: join(t.dir, "k-store"), key: join(t.dir, "other.json") }),
    /key\.tar was encrypted with key [0-9a-f]{16}, not with the given key [0-9a-f]{16}/,
  );
});

test("an export made with a scrambling key imports flagged scrambled (never a seed); a --key must match", async () => {
  // Same seed: the same matrices, plus a scrambling seed, so only the fingerprint (which covers the seed) differs.
  const scrambling = await generateKey({ blockSize: 2, seed: "web-import", scramble: true });
  const declared = { ...manifest().key, fingerprint: scrambling.fingerprint, scrambled: true };
  const file = writeExport("scrambling.tar", { manifest: manifest({ key: declared }) });
  const out = join(t.dir, "scrambling-store");
  await runEncrypt(file, { out, json: true });
  const text = readFileSync(join(out, "meta.json"), "utf8");
  assert.deepEqual(JSON.parse(text).key, { ...declared });
  assert.ok(!text.includes(scrambling.scramble!.seed));
  // `false` is a boolean too: read as not scrambled.
  const unflagged = writeExport("false.tar", { manifest: manifest({ key: { ...manifest().key, scrambled: false } }) });
  await runEncrypt(unflagged, { out: join(t.dir, "false-store"), json: true });
  assert.equal(Store.open(join(t.dir, "false-store")).meta.key?.scrambled, undefined);

  const { saveKey } = await import("../../src/data/keyfile.ts");
  await saveKey(join(t.dir, "scrambling.json"), scrambling);
  await saveKey(join(t.dir, "plain.json"), key);
  // The key the page used: accepted, and the store says scrambled as with the declared key.
  await runEncrypt(file, { out: join(t.dir, "scrambling-keyed"), key: join(t.dir, "scrambling.json"), json: true });
  assert.equal(Store.open(join(t.dir, "scrambling-keyed")).meta.key?.scrambled, true);
  // The same matrices without the scrambling: another fingerprint, refused.
  await assert.rejects(
    runEncrypt(file, { out: join(t.dir, "plain-keyed"), key: join(t.dir, "plain.json") }),
    /scrambling\.tar was encrypted with key [0-9a-f]{16}, not with the given key/,
  );
  // A manifest that claims scrambling for a key without it (its fingerprint) is refused when the key is given.
  const claimed = writeExport("claimed.tar", { manifest: manifest({ key: { ...manifest().key, scrambled: true } }) });
  await assert.rejects(
    runEncrypt(claimed, { out: join(t.dir, "claimed-store"), key: join(t.dir, "plain.json") }),
    /claimed\.tar: ercnn-export\.json says key\.scrambled, but the given key [0-9a-f]{16} has no block scrambling/,
  );
});
