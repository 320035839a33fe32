// The client page's small promises, in Debian's chromium against a real `ercnn serve` app: no favicon request (the
// icon is inline), nothing empty shown before the first classification, results in the order the images were given,
// the "what the provider sees" preview only once a ciphertext was sent (and still after a dataset export, captioned
// as the last image sent), a refusal that clears the previous results and status, a readable export time and rate,
// and the panel's attack numbers from docs/headline-numbers.json.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import sharp from "sharp";
import { generateKey } from "../../src/cipher/index.ts";
import { saveKey } from "../../src/data/keyfile.ts";
import { tempDir } from "../data/helpers.ts";
import { makeRun, startServer } from "../serve/helpers.ts";
import { buildPage, launchBrowser } from "./browser.ts";

const t = tempDir("ercnn-web-panel-");
const SIZE = 16;
const numbers = JSON.parse(readFileSync("docs/headline-numbers.json", "utf8")) as Record<string, string>;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let server: Awaited<ReturnType<typeof startServer>>;
const keyFile = join(t.dir, "key.json");
const otherFile = join(t.dir, "other.json");
const dataDir = join(t.dir, "data");
const images = ["c.png", "a.png", "b.png"]; // not in name order: the results must keep the order given

before(async () => {
  buildPage();
  const key = await generateKey({ blockSize: 4, seed: "web-panel" });
  await saveKey(keyFile, key);
  await saveKey(otherFile, await generateKey({ blockSize: 4, seed: "web-panel-other" }));
  const r = await makeRun(join(t.dir, "m"), { key, size: SIZE, classes: 4 });
  for (const cls of ["cat", "dog"]) mkdirSync(join(dataDir, cls), { recursive: true });
  for (const [i, name] of images.entries()) {
    const px = Buffer.alloc(SIZE * SIZE * 3, 40 + 60 * i);
    const img = sharp(px, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png();
    await img.toFile(join(t.dir, name));
    await img.toFile(join(dataDir, i % 2 ? "dog" : "cat", name));
  }
  server = await startServer([{ dir: r.run, name: "tiny" }], { uiDir: join(process.cwd(), "dist", "web") });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  t.cleanup();
});

async function openPage(keyPath: string): Promise<{ page: Page; urls: string[]; missing: string[] }> {
  const page = await browser.context.newPage();
  const urls: string[] = [];
  const missing: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  page.on("response", (r) => {
    if (r.status() === 404) missing.push(r.url());
  });
  await page.goto(server.url);
  await page.waitForFunction(() => /tiny:/.test(document.querySelector("#model-status")!.textContent!), null, {
    timeout: 15_000,
  });
  await page.setInputFiles("#key-file", keyPath);
  await page.waitForSelector("#key-fingerprint");
  return { page, urls, missing };
}

const resultNames = (page: Page) => page.$$eval("#cls-results li.result h3", (hs) => hs.map((h) => h.textContent));

test("no favicon request, nothing empty before the first classification, results oldest first", async () => {
  const { page, urls, missing } = await openPage(keyFile);
  assert.ok(!urls.some((u) => u.endsWith("/favicon.ico")), `favicon requested: ${urls.join(" ")}`);
  assert.deepEqual(missing, []);
  assert.equal(await page.isVisible("#cls-results"), false, "an empty results box before any classification");
  assert.equal(await page.isVisible("#sees-canvas"), false, "an empty preview before anything was sent");

  await page.setInputFiles("#cls-files", join(t.dir, images[0]));
  await page.waitForSelector("#cls-results li.result[data-top1]", { timeout: 20_000 });
  await page.setInputFiles(
    "#cls-files",
    images.slice(1).map((n) => join(t.dir, n)),
  );
  await page.waitForFunction(() => document.querySelectorAll("#cls-results li.result[data-top1]").length === 3);
  assert.deepEqual(await resultNames(page), images, "the first image given is the first result");
  assert.ok(await page.isVisible("#sees-canvas"));
  assert.match((await page.textContent("#sees-figure figcaption"))!, /last image you sent for classification/);
  assert.equal(await page.textContent("#cls-status"), "Classified 2 image(s) with tiny.");
  await page.close();
});

test("a refusal clears the previous results and status beside its error", async () => {
  const { page } = await openPage(keyFile);
  await page.setInputFiles("#cls-files", join(t.dir, images[0]));
  await page.waitForSelector("#cls-results li.result[data-top1]", { timeout: 20_000 });
  assert.match((await page.textContent("#cls-status"))!, /Classified 1 image/);
  // Another key: refused at once (the key no longer matches the model), and again when an image is given.
  await page.setInputFiles("#key-file", otherFile);
  await page.waitForFunction(() => /is not the key/.test(document.querySelector("#cls-error")!.textContent!));
  assert.equal(await page.textContent("#cls-status"), "");
  assert.equal(await page.locator("#cls-results li").count(), 0);
  assert.equal(await page.isVisible("#cls-results"), false);
  await page.setInputFiles("#cls-files", join(t.dir, images[1]));
  await page.waitForTimeout(200);
  assert.match((await page.textContent("#cls-error"))!, /nothing was sent/);
  assert.equal(await page.textContent("#cls-status"), "");
  assert.equal(await page.locator("#cls-results li").count(), 0);
  await page.close();
});

test("a dataset export reports a readable time and rate and leaves the preview to what was sent", async () => {
  const { page } = await openPage(keyFile);
  await page.setInputFiles("#data-folder", dataDir);
  await page.waitForFunction(() => /3 images in 2 classes/.test(document.querySelector("#data-summary")!.textContent!));
  await page.click("#data-start");
  await page.locator("#data-download").waitFor({ state: "visible", timeout: 30_000 });
  const status = (await page.textContent("#data-status"))!;
  assert.match(status, /^Encrypted 3 images in (\d+ ms|\d+\.\d s) \((\d{1,2}(\.\d)?|[\d,]+) img\/s\)/, status);
  assert.doesNotMatch(status, /in 0\.0 s/);
  const rate = status.match(/\(([\d.,]+) img\/s\)/)![1].replace(/,/g, "");
  assert.ok(
    rate
      .replace(/^0\.?0*/, "")
      .replace(".", "")
      .replace(/0+$/, "").length <= 2,
    `two digits: ${rate}`,
  );
  assert.equal(await page.isVisible("#sees-canvas"), false, "an export sends nothing: no 'provider sees' preview");
  await page.close();
});

test("the panel states the current attack numbers (docs/headline-numbers.json)", async () => {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  const text = (await page.textContent("#sees-numbers"))!.replace(/\s+/g, " ");
  for (const k of ["attackK4", "attackK8", "attackK8Ssim", "attackK16", "attackK16Keys"])
    assert.ok(text.includes(numbers[k]), `${k} = ${numbers[k]} not in: ${text}`);
  assert.match(text, new RegExp(`k = 8 decrypts at ${numbers.attackK8}`));
  assert.doesNotMatch(text, /\{\{|about 20 dB/);
  await page.close();
});
