// Takes docs/page.png (not a test; run by hand): the page served by `ercnn serve`'s app with a trained run, a key,
// a dataset folder exported, and a few images classified.
//   node --import tsx test/web/screenshot.ts RUN_DIR KEY.json DATASET_DIR OUT.png IMAGE...
import { writeFileSync } from "node:fs";
import sharp from "sharp";
import { createApp } from "../../src/serve/app.ts";
import { readModelInfo } from "../../src/serve/model-info.ts";
import { buildPage, launchBrowser } from "./browser.ts";

const [run, keyFile, dataset, out, ...images] = process.argv.slice(2);
const ui = buildPage();
const s = await createApp([await readModelInfo(run, { name: "cifar10-k4" })], {
  maxBatch: 64,
  maxQueueDelayUs: 2000,
  maxQueue: 64,
  timeoutMs: 30000,
  threads: 1,
  bodyLimit: 8 << 20,
  uiDir: ui,
  cors: [],
  logLevel: false,
});
await s.app.listen({ host: "127.0.0.1", port: 0 });
await s.service.worker.ready;
const addr = s.app.server.address() as { port: number };
const b = await launchBrowser();
const page = await b.context.newPage();
await page.setViewportSize({ width: 1100, height: 900 });
await page.goto(`http://127.0.0.1:${addr.port}/`);
await page.waitForSelector("#model-status.ok");
await page.setInputFiles("#key-file", keyFile);
await page.waitForSelector("#key-fingerprint");
await page.setInputFiles("#data-folder", dataset);
await page.waitForSelector("#data-summary.ok");
await page.click("#data-start");
await page.locator("#data-download").waitFor({ state: "visible", timeout: 120_000 });
await page.setInputFiles("#cls-files", images);
await page.waitForFunction((n) => document.querySelectorAll("#cls-results li[data-top1]").length === n, images.length, {
  timeout: 60_000,
});
await page.evaluate("document.activeElement?.blur()");
const png = await page.screenshot({ fullPage: true });
// A 256-colour palette keeps the screenshot small (< 300 KB) and crisp for UI text.
writeFileSync(out, await sharp(png).png({ palette: true, colours: 256, effort: 10 }).toBuffer());
console.log(`wrote ${out}`);
await b.close();
await s.close();
