// Measures the page's dataset export in headless chromium (not a test; run by hand, numbers in docs/page.md):
//   node --import tsx test/web/measure-export.ts [N=2000] [SIDE=224] [K=16] [SOURCE=256]
// N distinct SOURCE×SOURCE JPEG photos in 10 class folders are encrypted at SIDE×SIDE (centre crop SIDE) with
// a k×k-block key; prints images/s, the archive size and chromium's total resident memory at the end.
import { execSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { generateKey } from "../../src/cipher/index.ts";
import { saveKey } from "../../src/data/keyfile.ts";
import { tempDir } from "../data/helpers.ts";
import { buildPage, launchBrowser, serveStatic } from "./browser.ts";

const N = Number(process.argv[2] ?? 2000);
const SIDE = Number(process.argv[3] ?? 224);
const K = Number(process.argv[4] ?? 16);
const SRC = Math.max(SIDE, Number(process.argv[5] ?? 256));
const t = tempDir("ercnn-web-measure-");
const root = join(t.dir, "photos");
const base = Buffer.alloc(256 * 256 * 3);
for (let i = 0; i < base.length; i++) base[i] = (i * 7 + ((i / 768) | 0) * 3) & 255;
for (let c = 0; c < 10; c++) mkdirSync(join(root, `class${c}`), { recursive: true });
for (let i = 0; i < N; i++) {
  base[(i * 3) % base.length] = i & 255; // every file differs
  await sharp(base, { raw: { width: 256, height: 256, channels: 3 } })
    .resize(SRC, SRC)
    .jpeg({ quality: 85 })
    .toFile(join(root, `class${i % 10}`, `${String(i).padStart(6, "0")}.jpg`));
}
const keyFile = join(t.dir, "key.json");
await saveKey(keyFile, await generateKey({ blockSize: K, seed: "measure" }));
buildPage();
const site = await serveStatic(join(process.cwd(), "dist", "web"));
const b = await launchBrowser();
const page = await b.context.newPage();
await page.goto(site.url);
await page.setInputFiles("#key-file", keyFile);
await page.waitForSelector("#key-fingerprint", { timeout: 60_000 });
await page.setInputFiles("#data-folder", root);
await page.waitForFunction(() => /images in 10 classes/.test(document.querySelector("#data-summary")!.textContent!));
await page.fill("#data-resize", String(SRC));
await page.fill("#data-crop", String(SIDE));
// Responsiveness while the worker runs: the longest gap between animation frames on the page's main thread.
// (A string: tsx would wrap a function's inner closures in helpers the page does not have.)
await page.evaluate(`(() => {
  window.maxGap = 0;
  let last = performance.now();
  window.gaps = [];
  const tick = (now) => {
    if (now - last > 200) window.gaps.push([Math.round(last - (window.t0 ?? 0)), Math.round(now - last)]);
    window.maxGap = Math.max(window.maxGap, now - last); last = now; requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`);
const t0 = performance.now();
// Baseline: the same measurement for 5 s with the page idle (on a shared machine other processes cause gaps too).
await page.waitForTimeout(5000);
const idleGap = (await page.evaluate("window.maxGap")) as number;
await page.evaluate("window.t0 = performance.now(); window.maxGap = 0; window.gaps = [];");
await page.click("#data-start");
await page.locator("#data-download").waitFor({ state: "visible", timeout: 3_600_000 });
const seconds = (performance.now() - t0) / 1000;
const status = await page.textContent("#data-status");
const timing = await page.getAttribute("#data-status", "data-timing");
console.log(`worker seconds by stage: ${timing}`);
console.log(`frame gaps > 200 ms [ms after start, gap ms]: ${JSON.stringify(await page.evaluate("window.gaps"))}`);
const maxGap = (await page.evaluate("window.maxGap")) as number;
const rss = execSync("ps -C chromium -o rss= | awk '{s+=$1} END {print s}'").toString().trim();
console.log(`${N} images ${SIDE}×${SIDE}, k=${K}: ${seconds.toFixed(1)} s, ${(N / seconds).toFixed(1)} img/s`);
console.log(`page says: ${status}`);
console.log(
  `longest main-thread frame gap during the export: ${maxGap.toFixed(0)} ms (idle page before it: ${idleGap.toFixed(0)} ms); ` +
    `chromium RSS ${(Number(rss) / 1024).toFixed(0)} MiB; load average ${execSync("cut -d' ' -f1 /proc/loadavg").toString().trim()}`,
);
await b.close();
site.server.close();
t.cleanup();
