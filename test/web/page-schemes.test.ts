// The page honours a key's scheme (src/cipher/schemes): a key file of every seeded scheme loads in the page, the panel
// names the scheme, and a dataset the page encrypts is, value for value, what `ercnn encrypt FOLDER -k KEY` writes for
// the same images; the export imports without the key, its store records the scheme, and never holds the seed. A key
// generated in the page for a chosen scheme downloads as that scheme's key file. Without a browser: manifests that
// contradict themselves about the scheme are refused naming the field.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { generateSchemeKey, type SeededKey } from "../../src/cipher/schemes/index.ts";
import { runEncrypt } from "../../src/cli/commands/encrypt.ts";
import { Store } from "../../src/data/index.ts";
import { parsePageManifest, readPageManifest } from "../../src/data/page-export.ts";
import { loadSchemeKey, saveSchemeKey } from "../../src/data/scheme-keyfile.ts";
import { tempDir } from "../data/helpers.ts";
import { buildPage, launchBrowser, serveStatic } from "./browser.ts";

const t = tempDir("ercnn-web-schemes-");
process.env.ERCNN_CACHE = join(t.dir, "cache");
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let site: Awaited<ReturnType<typeof serveStatic>>;
const root = join(t.dir, "photos");

/** A 16×16 RGB test image with gradients and one bright square, different for each seed. */
function image(seed: number): Buffer {
  const b = Buffer.alloc(16 * 16 * 3);
  for (let y = 0; y < 16; y++)
    for (let x = 0; x < 16; x++) {
      const sq = Math.abs(x - (seed % 8) - 4) < 3 && Math.abs(y - 6) < 3 ? 90 : 0;
      b[(y * 16 + x) * 3] = (x * 13 + seed * 7 + sq) % 256;
      b[(y * 16 + x) * 3 + 1] = (y * 11 + seed * 3) % 256;
      b[(y * 16 + x) * 3 + 2] = ((x + y) * 6 + 20 + sq) % 256;
    }
  return b;
}

before(async () => {
  buildPage();
  site = await serveStatic(join(process.cwd(), "dist", "web"));
  browser = await launchBrowser();
  for (const [ci, cls] of ["ant", "bee"].entries()) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < 3; i++)
      await sharp(image(ci * 10 + i), { raw: { width: 16, height: 16, channels: 3 } })
        .png()
        .toFile(join(root, cls, `${i}.png`));
  }
});
after(async () => {
  await browser?.close();
  site?.server.close();
  t.cleanup();
});

for (const scheme of ["le", "etc", "pixel-shuffle-np", "ffx"] as const) {
  test(`${scheme}: the page's export equals ercnn encrypt's ciphertexts for the same key and images`, async () => {
    const key = (await generateSchemeKey({ scheme, blockSize: 4, seed: `web-${scheme}` })) as SeededKey;
    const keyFile = join(t.dir, `${scheme}.json`);
    await saveSchemeKey(keyFile, key);
    const page = await browser.context.newPage();
    await page.goto(site.url);
    await page.setInputFiles("#key-file", keyFile);
    await page.waitForSelector("#key-fingerprint");
    assert.equal(await page.getAttribute("#key-scheme", "data-scheme"), scheme);
    assert.match((await page.textContent("#key-status"))!, new RegExp(`scheme ${scheme} .*k = 4`));
    assert.equal(await page.textContent("#key-fingerprint"), key.fingerprint.slice(0, 16));
    // The panel says what ercnn's attacks do to this scheme: the solver breaks pixel-shuffle-np; none applies to the
    // others, which is said not to be safety.
    const note = (await page.textContent("#key-scheme-note"))!;
    if (scheme === "pixel-shuffle-np") assert.match(note, /recovers the whole key .* do not use it for privacy/);
    else assert.match(note, /No attack of ercnn applies to this scheme; that is not a proof of safety/);
    // "What the provider sees" speaks of this scheme, not of the Hill cipher's statistical attack.
    assert.equal(await page.isVisible("#sees-linear"), false, "the Hill paragraphs are hidden");
    const sees = (await page.textContent("#sees-scheme"))!;
    assert.equal(await page.isVisible("#sees-scheme"), true);
    if (scheme === "pixel-shuffle-np") assert.match(sees, /breaks exactly.*hides nothing/);
    else assert.match(sees, /resisted these attacks, not that it is safe/);
    await page.setInputFiles("#data-folder", root);
    await page.waitForFunction(() =>
      /6 images in 2 classes/.test(document.querySelector("#data-summary")!.textContent!),
    );
    await page.click("#data-start");
    const link = page.locator("#data-download");
    await link.waitFor({ state: "visible", timeout: 30_000 });
    const [dl] = await Promise.all([page.waitForEvent("download"), link.click()]);
    const tar = join(t.dir, `${scheme}.tar`);
    await dl.saveAs(tar);
    await page.close();
    assert.ok(!readFileSync(tar).includes(key.seed), "the export never carries the seed");
    assert.deepEqual((await readPageManifest(tar))!.key, {
      fingerprint: key.fingerprint,
      mode: scheme,
      scheme,
      blockSize: 4,
      channels: 3,
    });

    // The provider imports it without the key; the client's own `ercnn encrypt` of the folder, with the key.
    const imported = join(t.dir, `${scheme}-imported`);
    await runEncrypt(tar, { out: imported, json: true });
    const direct = join(t.dir, `${scheme}-direct`);
    await runEncrypt(root, { out: direct, key: keyFile, workers: 1, json: true });
    const a = Store.open(imported);
    const b = Store.open(direct);
    assert.deepEqual(a.meta.key, b.meta.key);
    assert.equal(a.meta.key?.scheme, scheme);
    assert.ok(!readFileSync(join(imported, "meta.json"), "utf8").includes(key.seed));
    const xa = a.readAll();
    const xb = b.readAll();
    assert.deepEqual(Array.from(xa.y), Array.from(xb.y));
    assert.equal(xa.x.length, 6 * 3 * 16 * 16);
    assert.deepEqual(xa.x, xb.x, "page ciphertexts differ from ercnn encrypt's");
    // And they are ciphertexts: most values differ from the plain pixels.
    const plain = join(t.dir, `${scheme}-plain`);
    await runEncrypt(root, { out: plain, plain: true, workers: 1, json: true });
    const xp = Store.open(plain).readAll().x;
    let changed = 0;
    for (let i = 0; i < xp.length; i++) if (xp[i] !== xa.x[i]) changed++;
    assert.ok(changed > xp.length / 2, `${scheme}: only ${changed} of ${xp.length} values changed`);
  });
}

test("a key generated in the page for a chosen scheme downloads as that scheme's key file", async () => {
  const page = await browser.context.newPage();
  await page.goto(site.url);
  // The choices are the registry's.
  const options = await page.$$eval("#key-scheme-select option", (os) => os.map((o) => (o as HTMLOptionElement).value));
  assert.deepEqual(options, ["hill", "hill-scramble", "pixel-shuffle-np", "le", "etc", "ffx"]);
  await page.fill("#key-k", "4");
  await page.selectOption("#key-scheme-select", "ffx");
  assert.equal(await page.isDisabled("#key-mode"), true, "the Hill kind does not apply to ffx");
  await page.click("#key-generate");
  const shown = (await page.textContent("#key-fingerprint", { timeout: 10_000 }))!;
  assert.equal(await page.getAttribute("#key-scheme", "data-scheme"), "ffx");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#key-download")]);
  const file = join(t.dir, "page-ffx.json");
  await dl.saveAs(file);
  const key = await loadSchemeKey(file, { warn: () => {} });
  assert.equal("scheme" in key && key.scheme, "ffx");
  assert.equal(key.blockSize, 4);
  assert.equal(key.fingerprint.slice(0, 16), shown);
  assert.equal(await page.isVisible("#sees-linear"), false);
  assert.match((await page.textContent("#sees-scheme"))!, /keyed bijection/);
  // Back to the study's cipher: the kind applies again, and its key brings back the statistical attack's paragraphs.
  await page.selectOption("#key-scheme-select", "hill");
  assert.equal(await page.isDisabled("#key-mode"), false);
  await page.click("#key-generate");
  await page.waitForFunction((ffx) => document.querySelector("#key-fingerprint")?.textContent !== ffx, shown, {
    timeout: 10_000,
  });
  assert.equal(await page.isVisible("#sees-linear"), true);
  assert.equal(await page.isVisible("#sees-scheme"), false);
  await page.close();
});

test("manifests that contradict themselves about the scheme are refused naming the field", async () => {
  const key = (await generateSchemeKey({ scheme: "le", blockSize: 4, seed: "web-manifest" })) as SeededKey;
  const base = {
    format: "ercnn-page-export",
    version: 1,
    layout: "study",
    split: "train",
    key: { fingerprint: key.fingerprint, mode: "le", scheme: "le", blockSize: 4, channels: 3 },
    classes: ["ant"],
    shape: [3, 16, 16],
  };
  const parse = (k: Record<string, unknown>) =>
    parsePageManifest(new TextEncoder().encode(JSON.stringify({ ...base, key: { ...base.key, ...k } })), "m.tar");
  assert.equal(parse({}).key.scheme, "le");
  assert.throws(() => parse({ mode: "uniform" }), /m\.tar: ercnn-export\.json field key\.mode must be "le"/);
  assert.throws(() => parse({ scheme: "rot13" }), /field key\.scheme must be one of pixel-shuffle-np, le, etc, ffx/);
  assert.throws(() => parse({ scrambled: true }), /field key\.scrambled is for Hill keys, not a le key/);
  assert.throws(() => parse({ scheme: undefined }), /field key\.mode must be one of uniform/);
  // A Hill key given for the le export the first test wrote: refused naming both.
  const tar = join(t.dir, "le.tar");
  const hill = await generateSchemeKey({ scheme: "hill", blockSize: 4, seed: "web-manifest-hill" });
  const hillFile = join(t.dir, "hill.json");
  await saveSchemeKey(hillFile, hill);
  await assert.rejects(
    runEncrypt(tar, { out: join(t.dir, "mismatch"), key: hillFile }),
    /le\.tar was encrypted with le; the given key [0-9a-f]{16} is a Hill cipher/,
  );
});
