// The client page in a real browser (Debian's chromium), without a server: a key generated in the page loads in
// ercnn with the fingerprint the page showed; a study .npy key gets ercnn's fingerprint; a dataset folder encrypted
// in the page imports with `ercnn encrypt EXPORT.tar -o STORE` (no key) and decrypts with `ercnn decrypt` to the
// CLI's own preprocessing of the same images (≤ 1/255).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import sharp from "sharp";
import { generateKey, keyFromNpy, keyToNpy } from "../../src/cipher/index.ts";
import { runEncrypt } from "../../src/cli/commands/encrypt.ts";
import { trainCommand } from "../../src/cli/commands/train.ts";
import { decodeImage } from "../../src/data/decode.ts";
import { saveKey } from "../../src/data/keyfile.ts";
import { readPageManifest } from "../../src/data/page-export.ts";
import { tempDir } from "../data/helpers.ts";
import { buildPage, launchBrowser, serveStatic } from "./browser.ts";

const t = tempDir("ercnn-web-data-");
const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" });
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let site: Awaited<ReturnType<typeof serveStatic>>;

/** A smooth photo-like RGB pattern (gradients + a few discs), HWC uint8. */
function photo(h: number, w: number, seed: number): Buffer {
  const b = Buffer.alloc(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const d = Math.hypot(x - w * (0.3 + 0.1 * (seed % 3)), y - h * 0.5) < h / 4 ? 60 : 0;
      b[(y * w + x) * 3] = Math.min(255, ((x * 200) / w + seed * 9 + d) | 0);
      b[(y * w + x) * 3 + 1] = Math.min(255, ((y * 180) / h + seed * 5) | 0);
      b[(y * w + x) * 3 + 2] = Math.min(255, (((x + y) * 100) / (h + w) + 40 + d) | 0);
    }
  return b;
}

async function writePhoto(path: string, h: number, w: number, seed: number): Promise<void> {
  const img = sharp(photo(h, w, seed), { raw: { width: w, height: h, channels: 3 } });
  if (path.endsWith(".png")) await img.png().toFile(path);
  else if (path.endsWith(".webp")) await img.webp({ lossless: true }).toFile(path);
  else await img.jpeg({ quality: 92 }).toFile(path);
}

/** Starts "Encrypt a dataset" on a page whose key and folder are chosen, saves the export to `file`, closes the page. */
async function encryptInPage(page: Page, file: string): Promise<string> {
  await page.click("#data-start");
  const link = page.locator("#data-download");
  await link.waitFor({ state: "visible", timeout: 30_000 });
  const [dl] = await Promise.all([page.waitForEvent("download"), link.click()]);
  await dl.saveAs(file);
  await page.close();
  return file;
}

before(async () => {
  buildPage();
  site = await serveStatic(join(process.cwd(), "dist", "web"));
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  site?.server.close();
  t.cleanup();
});

test("a key generated in the page downloads as an ercnn key file with the fingerprint the page showed", async () => {
  const page = await browser.context.newPage();
  await page.goto(site.url);
  await page.fill("#key-k", "4");
  await page.selectOption("#key-mode", "orthogonal");
  // Keyboard only: Tab from the kind to the button, Enter; the focused control shows a visible outline.
  await page.focus("#key-mode");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate("document.activeElement.id"), "key-generate");
  assert.ok(Number.parseFloat(await page.evaluate("getComputedStyle(document.activeElement).outlineWidth")) >= 2);
  await page.keyboard.press("Enter");
  const shown = (await page.textContent("#key-fingerprint", { timeout: 10_000 }))!;
  assert.match(shown, /^[0-9a-f]{16}$/);
  // Every form control has a label.
  const unlabelled = await page.evaluate(
    "[...document.querySelectorAll('input, select')].filter((e) => e.labels.length === 0).map((e) => e.id)",
  );
  assert.deepEqual(unlabelled, []);
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#key-download")]);
  const file = join(t.dir, "page-key.json");
  await dl.saveAs(file);
  const r = cli("inspect", file, "--json");
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.kind, "key");
  assert.equal(info.mode, "orthogonal");
  assert.equal(info.blockSize, 4);
  assert.equal(info.fingerprint.slice(0, 16), shown);
  // A second key is another key (drawn from crypto.getRandomValues, not a fixed seed).
  await page.click("#key-generate");
  await page.waitForFunction((s) => document.querySelector("#key-fingerprint")?.textContent !== s, shown);
  await page.close();
});

test("a study .npy key loads in the page with ercnn's fingerprint; a broken key file is refused visibly", async () => {
  const key = await generateKey({ blockSize: 2, seed: "web-npy" });
  const npy = keyToNpy(key);
  writeFileSync(join(t.dir, "study-key.npy"), npy);
  writeFileSync(join(t.dir, "broken.json"), '{"format":"ercnn-cipher-key","version":1}');
  const expected = (await keyFromNpy(npy)).fingerprint.slice(0, 16);
  const page = await browser.context.newPage();
  await page.goto(site.url);
  await page.setInputFiles("#key-file", join(t.dir, "study-key.npy"));
  assert.equal(await page.textContent("#key-fingerprint", { timeout: 10_000 }), expected);
  await page.setInputFiles("#key-file", join(t.dir, "broken.json"));
  await page.waitForSelector("#key-status.error");
  assert.match((await page.textContent("#key-status"))!, /broken\.json/);
  await page.close();
});

test("a dataset encrypted in the page imports with ercnn encrypt and decrypts to the CLI's preprocessing", async () => {
  const key = await generateKey({ blockSize: 4, seed: "web-dataset" });
  const keyFile = join(t.dir, "data-key.json");
  await saveKey(keyFile, key);
  // root/<class>/<image>: PNG, JPEG and WebP at the model's size (32×32), and larger or non-square images that
  // are resized and cropped. Resized files are PNG, or JPEG shrunk by less than 2: for JPEG at ≥ 2× and for WebP
  // at any factor sharp decodes at a reduced size (shrink-on-load), which no browser decoder reproduces (docs/page.md).
  const root = join(t.dir, "photos");
  const files: { cls: string; name: string; h: number; w: number }[] = [];
  const kinds: [string, number, number][] = [
    ["png", 32, 32],
    ["jpg", 32, 32],
    ["webp", 32, 32],
    ["png", 64, 64],
    ["png", 32, 50],
    ["jpg", 48, 40],
    ["png", 45, 61],
  ];
  for (const [ci, cls] of ["ant", "bee", "cat"].entries()) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const [fmt, h, w] = kinds[(i + ci * 2) % kinds.length];
      const name = `${i}.${fmt}`;
      await writePhoto(join(root, cls, name), h, w, ci * 10 + i);
      files.push({ cls, name, h, w });
    }
  }
  writeFileSync(join(root, "ant", "notes.txt"), "not an image");
  const page = await browser.context.newPage();
  await page.goto(site.url);
  await page.setInputFiles("#key-file", keyFile);
  await page.waitForSelector("#key-fingerprint");
  await page.setInputFiles("#data-folder", root);
  await page.waitForFunction(() =>
    /12 images in 3 classes/.test(document.querySelector("#data-summary")!.textContent!),
  );
  await page.fill("#data-resize", "32");
  await page.fill("#data-crop", "32");
  const tar = await encryptInPage(page, join(t.dir, "export.tar"));

  const store = join(t.dir, "store");
  const enc = cli("encrypt", tar, "-o", store, "--json");
  assert.equal(enc.status, 0, enc.stderr);
  const meta = JSON.parse(readFileSync(join(store, "meta.json"), "utf8"));
  assert.equal(meta.key.fingerprint, key.fingerprint);
  // A key without scrambling: the manifest's key section is what pages before the flag wrote, the store unflagged.
  assert.deepEqual(Object.keys((await readPageManifest(tar))!.key), ["fingerprint", "mode", "blockSize", "channels"]);
  assert.equal(meta.key.scrambled, undefined);
  assert.deepEqual(meta.classes, ["ant", "bee", "cat"]);
  assert.deepEqual(meta.shape, [3, 32, 32]);
  assert.equal(meta.count, 12);
  assert.deepEqual(meta.source.decode, { resize: 32, crop: 32 });

  const out = join(t.dir, "decrypted");
  const dec = cli("decrypt", store, "-k", keyFile, "-o", out);
  assert.equal(dec.status, 0, dec.stderr);
  let worst = 0;
  let worstResized = 0;
  let index = 0;
  for (const cls of ["ant", "bee", "cat"]) {
    const mine = files.filter((f) => f.cls === cls).sort((a, b) => (a.name < b.name ? -1 : 1));
    const got = readdirSync(join(out, cls)).sort();
    assert.equal(got.length, mine.length);
    for (const [i, f] of mine.entries()) {
      const ref = await decodeImage(readFileSync(join(root, cls, f.name)), f.name, { resize: 32, crop: 32 });
      const png = await decodeImage(readFileSync(join(out, cls, got[i])), got[i]);
      assert.equal(got[i], `${String(index++).padStart(2, "0")}.png`);
      let d = 0;
      for (let j = 0; j < ref.data.length; j++) d = Math.max(d, Math.abs(ref.data[j] - png.data[j]));
      if (f.h === 32 && f.w === 32) worst = Math.max(worst, d);
      else worstResized = Math.max(worstResized, d);
    }
  }
  console.log(
    `# page export vs CLI preprocessing: max |Δ| ${worst}/255 at the model's size, ${worstResized}/255 resized`,
  );
  assert.equal(worst, 0, "images already at the model's size must decrypt to exactly the CLI's pixels");
  assert.ok(worstResized <= 1, `resized images differ from the CLI's by ${worstResized}/255`);

  // The provider cannot pass the export off as another key's; --plain is refused (the command's own function,
  // in-process: the same code path as the two runs above, without two more CLI start-ups).
  const other = await generateKey({ blockSize: 4, seed: "web-dataset-other" });
  await saveKey(join(t.dir, "other.json"), other);
  await assert.rejects(
    runEncrypt(tar, { key: join(t.dir, "other.json"), out: join(t.dir, "store2") }),
    /export\.tar was encrypted with key .* not with the given key/,
  );
  await assert.rejects(runEncrypt(tar, { plain: true, out: join(t.dir, "store3") }), /drop --plain/);
});

test("an export made in the page with a scrambling key imports flagged; train refuses --augment cipher-safe", async () => {
  const key = await generateKey({ blockSize: 4, seed: "web-scrambled", scramble: true });
  const keyFile = join(t.dir, "scrambled-key.json");
  await saveKey(keyFile, key);
  const root = join(t.dir, "scrambled-photos");
  for (const [ci, cls] of ["ant", "bee"].entries()) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < 2; i++) await writePhoto(join(root, cls, `${i}.png`), 16, 16, ci * 10 + i);
  }
  const page = await browser.context.newPage();
  await page.goto(site.url);
  await page.setInputFiles("#key-file", keyFile);
  await page.waitForFunction(() => /block scrambling/.test(document.querySelector("#key-status")!.textContent!));
  await page.setInputFiles("#data-folder", root);
  await page.waitForFunction(() => /4 images in 2 classes/.test(document.querySelector("#data-summary")!.textContent!));
  const tar = await encryptInPage(page, join(t.dir, "scrambled-export.tar"));
  assert.ok(!readFileSync(tar).includes(key.scramble!.seed), "the export never carries the seed");
  assert.equal((await readPageManifest(tar))!.key.scrambled, true);

  // Imported without the key (in-process, as `ercnn encrypt EXPORT.tar -o STORE`): the store says scrambled.
  const store = join(t.dir, "scrambled-store");
  await runEncrypt(tar, { out: store, json: true });
  const text = readFileSync(join(store, "meta.json"), "utf8");
  assert.equal(JSON.parse(text).key.scrambled, true);
  assert.equal(JSON.parse(text).key.fingerprint, key.fingerprint);
  assert.ok(!text.includes(key.scramble!.seed));
  // `ercnn train STORE --augment cipher-safe`, the command itself in-process (one CLI start-up fewer).
  await assert.rejects(
    trainCommand().parseAsync([store, "--augment", "cipher-safe", "--out", join(t.dir, "scrambled-run")], {
      from: "user",
    }),
    /--augment cipher-safe: .*scrambled-store was encrypted with block scrambling/,
  );
});
