// The client page against a real `ercnn serve` app (a small ER model built in the test), in Debian's chromium:
// every infer request body the page sends is, value for value, `ercnn encrypt`'s encryption of the same image files
// under the loaded key, never the key or the plaintext; the page's top-1 classes equal `ercnn classify`'s; a wrong
// key (other fingerprint, other block size) is refused with a visible message and no infer request; and the static
// build on another origin works through `--cors`.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import type { Page, Request } from "playwright-core";
import sharp from "sharp";
import { type CipherKey, generateKey } from "../../src/cipher/index.ts";
import { decodeImage, hwcU8ToChwF32, Store } from "../../src/data/index.ts";
import { saveKey } from "../../src/data/keyfile.ts";
import { tempDir } from "../data/helpers.ts";
import { makeRun, startServer } from "../serve/helpers.ts";
import { syntheticImages } from "../train/synthetic.ts";
import { buildPage, launchBrowser, serveStatic } from "./browser.ts";

const t = tempDir("ercnn-web-cls-");
const SIZE = 16;
const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" });
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let server: Awaited<ReturnType<typeof startServer>>;
let site: Awaited<ReturnType<typeof serveStatic>>;
let key: CipherKey;
const keyFile = join(t.dir, "key.json");
const imgDir = join(t.dir, "images", "x");
/** Image files in the order they are given to the page; the first four are the model's size, the rest resized. */
const names = ["a0.png", "a1.jpg", "a2.webp", "a3.png", "b0.png", "b1.jpg"];

before(async () => {
  buildPage();
  key = await generateKey({ blockSize: 4, seed: "web-classify" });
  await saveKey(keyFile, key);
  const r = await makeRun(join(t.dir, "m"), { key, size: SIZE, classes: 4 });
  // Real image files of the model's classes (and two larger ones the page resizes).
  mkdirSync(imgDir, { recursive: true });
  const { x } = syntheticImages(4, 4, 40, 5);
  for (const [i, name] of names.entries()) {
    const big = i >= 4;
    const s = 40;
    const hwc = Buffer.alloc(s * s * 3);
    for (let p = 0; p < s * s; p++)
      for (let c = 0; c < 3; c++) hwc[p * 3 + c] = Math.round(x[((i % 4) * 3 + c) * s * s + p] * 255);
    let img = sharp(hwc, { raw: { width: s, height: s, channels: 3 } });
    img = big ? img.extract({ left: 0, top: 4, width: 40, height: 30 }) : img.resize(SIZE, SIZE);
    const out = join(imgDir, name);
    if (name.endsWith(".png")) await img.png().toFile(out);
    else if (name.endsWith(".webp")) await img.webp({ lossless: true }).toFile(out);
    else await img.jpeg({ quality: 90 }).toFile(out);
  }
  site = await serveStatic(join(process.cwd(), "dist", "web"));
  server = await startServer([{ dir: r.run, name: "tiny" }], {
    uiDir: join(process.cwd(), "dist", "web"),
    cors: [site.url.replace(/\/$/, "")],
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  site?.server.close();
  t.cleanup();
});

interface Sent {
  url: string;
  body: Buffer | null;
  headers: Record<string, string>;
}

function record(page: Page): Sent[] {
  const sent: Sent[] = [];
  page.on("request", (r: Request) => sent.push({ url: r.url(), body: r.postDataBuffer(), headers: r.headers() }));
  return sent;
}

async function openPage(url: string, keyPath: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.waitForSelector("#model-status.ok", { timeout: 15_000 });
  await page.waitForFunction(() => /tiny:/.test(document.querySelector("#model-status")!.textContent!));
  await page.setInputFiles("#key-file", keyPath);
  await page.waitForSelector("#key-fingerprint");
  return page;
}

/** Decodes a binary-extension infer body: the JSON header and its FP32 tensor. */
function decodeInfer(s: Sent): { header: any; x: Float32Array } {
  const hl = Number(s.headers["inference-header-content-length"]);
  assert.ok(hl > 0 && s.body, "binary infer request with Inference-Header-Content-Length");
  const header = JSON.parse(s.body!.subarray(0, hl).toString("utf8"));
  const bin = s.body!.subarray(hl);
  assert.equal(bin.length, header.inputs[0].parameters.binary_data_size);
  const x = new Float32Array(bin.length / 4);
  for (let i = 0; i < x.length; i++) x[i] = bin.readFloatLE(i * 4);
  return { header, x };
}

function contains(hay: Buffer, needle: Uint8Array): boolean {
  return hay.indexOf(Buffer.from(needle)) >= 0;
}

test("the page sends ercnn encrypt's ciphertexts of the dropped files, never the key or the plaintext", async () => {
  const page = await openPage(server.url, keyFile);
  const sent = record(page);
  await page.setInputFiles(
    "#cls-files",
    names.map((n) => join(imgDir, n)),
  );
  await page.waitForFunction(
    (n) => document.querySelectorAll("#cls-results li.result[data-top1]").length === n,
    names.length,
    {
      timeout: 30_000,
    },
  );
  const infers = sent.filter((s) => s.url.endsWith("/v2/models/tiny/infer"));
  assert.ok(infers.length >= 1);
  const page1 = (await page.$$eval("#cls-results li.result", (lis) =>
    lis.map((li) => ({ name: li.querySelector("h3")!.textContent!, top1: Number((li as HTMLElement).dataset.top1) })),
  )) as { name: string; top1: number }[];
  await page.close();

  // ercnn encrypt on the same files (one class folder, sorted names = the order given to the page).
  const store = join(t.dir, "cli-store");
  const enc = cli(
    "encrypt",
    join(t.dir, "images"),
    "-k",
    keyFile,
    "--resize",
    String(SIZE),
    "--crop",
    String(SIZE),
    "-o",
    store,
    "--workers",
    "1",
  );
  assert.equal(enc.status, 0, enc.stderr);
  const ref = Store.open(store).readAll();
  const per = 3 * SIZE * SIZE;
  const got = new Float32Array(names.length * per);
  let off = 0;
  for (const s of infers) {
    const { header, x } = decodeInfer(s);
    assert.deepEqual(header.inputs[0].shape.slice(1), [3, SIZE, SIZE]);
    assert.equal(header.inputs[0].datatype, "FP32");
    assert.equal(header.parameters.key_fingerprint, key.fingerprint);
    got.set(x, off);
    off += x.length;
  }
  assert.equal(off, got.length);
  const diffs = names.map((_, i) => {
    let d = 0;
    for (let j = i * per; j < (i + 1) * per; j++) d = Math.max(d, Math.abs(got[j] - ref.x[j]));
    return d;
  });
  console.log(`# page vs ercnn encrypt, max |Δ| per image: ${diffs.map((d) => d.toExponential(1)).join(" ")}`);
  for (let i = 0; i < 4; i++) assert.ok(diffs[i] <= 1e-6, `${names[i]}: ${diffs[i]}`);

  // No request carries the key (float64/float32 bytes or JSON digits of its values) or the plaintext (each image's
  // pixels as ercnn decodes them, as float32 [0, 1] values or as RGB bytes: every row of every channel).
  const plainRows: Buffer[] = [];
  for (const n of names) {
    const img = await decodeImage(readFileSync(join(imgDir, n)), n, { resize: SIZE, crop: SIZE });
    const chw = new Float32Array(3 * SIZE * SIZE);
    hwcU8ToChwF32(img.data, SIZE, SIZE, chw, 0);
    for (let r = 0; r < 3 * SIZE; r++) plainRows.push(Buffer.from(chw.buffer, r * SIZE * 4, SIZE * 4));
    for (let r = 0; r < SIZE; r++) plainRows.push(Buffer.from(img.data.subarray(r * SIZE * 3, (r + 1) * SIZE * 3)));
  }
  for (const s of sent) {
    const hay = Buffer.concat([Buffer.from(s.url), s.body ?? Buffer.alloc(0)]);
    for (let i = 0; i < key.values.length; i++) {
      const v = key.values[i];
      assert.ok(!contains(hay, new Uint8Array(new Float64Array([v]).buffer)), `key value #${i} (float64) in ${s.url}`);
      if (i + 1 < key.values.length)
        assert.ok(
          !contains(hay, new Uint8Array(new Float32Array([v, key.values[i + 1]]).buffer)),
          `key values (float32)`,
        );
      assert.ok(!hay.includes(JSON.stringify(v).slice(0, 12)), `key digits in ${s.url}`);
    }
    for (const row of plainRows) assert.ok(!contains(hay, row), `a plaintext row in ${s.url}`);
  }

  // ercnn classify on the same files and key: the same top-1 classes.
  // Asynchronously: the server runs in this process and must keep answering while the CLI waits.
  const cls = await promisify(execFile)(process.execPath, [
    "bin/ercnn.js",
    "classify",
    "--server",
    server.url,
    "--model",
    "tiny",
    "--key",
    keyFile,
    "--resize",
    String(SIZE),
    "--crop",
    String(SIZE),
    "--json",
    ...names.map((n) => join(imgDir, n)),
  ]);
  const res = JSON.parse(cls.stdout).results as { image: string; top: { index: number }[] }[];
  for (const r of res) {
    const mine = page1.find((p) => r.image.endsWith(p.name));
    assert.ok(mine, r.image);
    assert.equal(mine.top1, r.top[0].index, r.image);
  }
});

test("a wrong key is refused with a visible message and no infer request", async () => {
  const other = await generateKey({ blockSize: 4, seed: "web-classify-other" });
  const otherFile = join(t.dir, "other.json");
  await saveKey(otherFile, other);
  const k2 = await generateKey({ blockSize: 2, seed: "web-classify-k2" });
  const k2File = join(t.dir, "k2.json");
  await saveKey(k2File, k2);
  for (const [file, message] of [
    [otherFile, /is not the key model tiny was trained for/],
    [k2File, /block size k = 2, model tiny expects k = 4/],
  ] as const) {
    const page = await openPage(server.url, file);
    const sent = record(page);
    await page.setInputFiles("#cls-files", join(imgDir, names[0]));
    await page.waitForFunction(() => document.querySelector("#cls-error")!.textContent !== "");
    assert.match((await page.textContent("#cls-error"))!, message);
    assert.ok(await page.isVisible("#cls-error"));
    await page.waitForTimeout(300);
    assert.equal(sent.filter((s) => s.url.includes("/infer")).length, 0);
    assert.equal(await page.locator("#cls-results li").count(), 0);
    await page.close();
  }
});

test("the static build on another origin classifies through --cors", async () => {
  const page = await openPage(`${site.url}?server=${encodeURIComponent(server.url)}`, keyFile);
  await page.setInputFiles("#cls-files", join(imgDir, names[1]));
  await page.waitForSelector("#cls-results li.result[data-top1]", { timeout: 20_000 });
  assert.match((await page.textContent("#cls-results li.result table"))!, /class/);
  await page.close();
});
