import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decryptionPicture, loadRun, writeReport } from "../../src/report/index.ts";

const root = mkdtempSync(join(tmpdir(), "ercnn-report-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function fakeRun(name: string, opts: { backbone: string; adapt: string; testAcc: number; badLine?: boolean }) {
  const dir = join(root, name);
  mkdirSync(join(dir, "pictures"), { recursive: true });
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      backbone: opts.backbone,
      adapt: opts.adapt,
      blockSize: 4,
      batchSize: 32,
      lr: 0.002,
      optimizer: "sgd",
      epochs: 3,
      rounds: 2,
      dataset: "cifar10-enc",
      keyFingerprint: "ab12cd34ef56",
      seed: 1,
    }),
  );
  const lines: string[] = [];
  for (const round of [1, 2]) {
    for (const epoch of [1, 2, 3]) {
      const t = (round - 1) * 3 + epoch;
      lines.push(
        JSON.stringify({
          round,
          epoch,
          split: "train",
          loss: 2 / t,
          acc: 0.3 + 0.05 * t,
          lr: 0.002,
          imgPerSec: 900,
          seconds: 4,
        }),
      );
      lines.push(
        JSON.stringify({
          round,
          epoch,
          split: "val",
          loss: 2.2 / t,
          acc: 0.28 + 0.05 * t,
          psnr: 10 + t,
          ssim: 0.1 * t,
          mapError: 1 / t,
        }),
      );
    }
  }
  if (opts.badLine) lines.push("{not json");
  writeFileSync(join(dir, "metrics.jsonl"), `${lines.join("\n")}\n`);
  writeFileSync(
    join(dir, "final.json"),
    JSON.stringify({
      testAcc: opts.testAcc,
      bestValAcc: 0.58,
      bestEpoch: 3,
      round: 2,
      wallSeconds: 321.5,
      psnr: 16.25,
      ssim: 0.5871,
    }),
  );
  const dims = { c: 3, h: 8, w: 8 };
  const img = new Float32Array(192).map((_, i) => (i % 17) / 16);
  const png = await decryptionPicture([{ cipher: img.map((v) => 5 * v - 2), adapt: img, plain: img }], dims);
  writeFileSync(join(dir, "pictures", "round-1-epoch-3.png"), png);
  writeFileSync(join(dir, "pictures", "final.png"), png);
  return { dir, png };
}

describe("HTML report", () => {
  it("one run: config, final numbers, curves with round marks, embedded pictures, nothing external", async () => {
    const { dir, png } = await fakeRun("run-a", {
      backbone: "resnet50",
      adapt: "aligned",
      testAcc: 0.6942,
      badLine: true,
    });
    const out = join(root, "out", "report.html");
    await writeReport({ runDirs: [dir], out, title: "Run <A>" });
    const html = readFileSync(out, "utf8");
    assert.match(html, /^<!DOCTYPE html>/);
    assert.ok(html.includes("<title>Run &lt;A&gt;</title>"));
    for (const s of ["69.42%", "58.00%", "16.25 dB", "0.5871", "resnet50", "ab12cd34ef56", "cifar10-enc", "0.002"]) {
      assert.ok(html.includes(s), `page shows ${s}`);
    }
    assert.ok(html.includes("Accuracy") && html.includes("Loss") && html.includes("Decryption SSIM"));
    assert.ok(html.includes("round 2"), "round boundary marked");
    assert.equal((html.match(/<svg/g) ?? []).length, 5, "acc, loss, psnr, ssim, map error charts");
    assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 2);
    assert.ok(html.includes(png.toString("base64")));
    assert.ok(html.indexOf("round-1-epoch-3.png") < html.indexOf("final.png"), "final picture last");
    assert.ok(html.includes("1 unreadable line(s) skipped"));
    assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    assert.doesNotMatch(html, /<(?:script|link|iframe)\b/i);
    assert.doesNotMatch(html, /url\(\s*["']?(?!#)/i, "only local url(#id) references");
  });

  it("a sweep: comparison table and bar chart; missing files are reported, not fatal", async () => {
    const a = await fakeRun("sweep-a", { backbone: "resnet50", adapt: "aligned", testAcc: 0.6892 });
    const b = await fakeRun("sweep-b", { backbone: "resnet50", adapt: "none", testAcc: 0.6942 });
    const partial = join(root, "sweep-partial");
    mkdirSync(partial, { recursive: true });
    writeFileSync(join(partial, "config.json"), "{broken");
    const out = join(root, "sweep.html");
    await writeReport({ runDirs: [a.dir, b.dir, partial, join(root, "nope")], out });
    const html = readFileSync(out, "utf8");
    assert.ok(html.includes("<h2>Comparison</h2>"));
    assert.ok(html.includes("68.92%") && html.includes("69.42%"));
    assert.ok(html.includes("by backbone and adaptation"), "unique (backbone, adapt) pairs: grouped bars");
    assert.ok(html.includes("config.json is unreadable"));
    assert.ok(html.includes("metrics.jsonl is missing"));
    assert.ok(html.includes("does not exist"));
    assert.ok(html.includes('download="comparison.csv"'));
    assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    assert.ok(html.includes(">aligned<") && html.includes(">none<"));
    // an lr sweep: repeated (backbone, adapt) pairs give one bar per run
    const c = await fakeRun("sweep-c", { backbone: "resnet50", adapt: "aligned", testAcc: 0.7012 });
    const out2 = join(root, "two.html");
    await writeReport({ runDirs: [a.dir, c.dir], out: out2 });
    const h2 = readFileSync(out2, "utf8");
    assert.ok(h2.includes("by run") && h2.includes("70.12%"));
  });

  it("loadRun lists problems for an empty directory", () => {
    const d = join(root, "empty");
    mkdirSync(d);
    const r = loadRun(d);
    assert.equal(r.config, null);
    assert.deepEqual(r.metrics, []);
    assert.ok(r.problems.some((p) => p.includes("final.json")));
    assert.ok(r.problems.some((p) => p.includes("pictures")));
  });
});
