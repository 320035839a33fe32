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

describe("HTML report for newcomers", () => {
  /** A demo-like run: one round of 4 epochs, a PSNR that barely moves (14.926 → 14.946 dB), a psnrRaw field. */
  async function demoRun(): Promise<string> {
    const dir = join(root, "demo-run");
    mkdirSync(join(dir, "pictures"), { recursive: true });
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ backbone: "blockresnet_s", lr: 0.003, warmupEpochs: 0.5 }),
    );
    const lines: string[] = [];
    for (const epoch of [1, 2, 3, 4]) {
      lines.push(JSON.stringify({ round: 1, epoch, split: "train", loss: 2 - 0.3 * epoch, acc: 0.3 + 0.1 * epoch }));
      lines.push(
        JSON.stringify({
          round: 1,
          epoch,
          split: "val",
          acc: 0.28 + 0.1 * epoch,
          psnr: 14.926 + 0.005 * epoch,
          ssim: 0.4,
          psnrRaw: 0.05,
        }),
      );
    }
    writeFileSync(join(dir, "metrics.jsonl"), `${lines.join("\n")}\n`);
    writeFileSync(
      join(dir, "final.json"),
      JSON.stringify({
        testAcc: 0.6512,
        testImages: 1000,
        valImages: 500,
        trainImages: 9500,
        bestValAcc: 0.66,
        wallSeconds: 141,
        psnr: 14.946,
        ssim: 0.41,
        psnrRaw: 0.05,
      }),
    );
    const img = new Float32Array(192).map((_, i) => (i % 17) / 16);
    const png = await decryptionPicture([{ cipher: img, adapt: img, plain: img }], { c: 3, h: 8, w: 8 });
    writeFileSync(join(dir, "pictures", "round-1-epoch-2.png"), png);
    return dir;
  }

  it("a headline first, human labels with units, honest axes, integer epochs, the attack's numbers and picture", async () => {
    const dir = await demoRun();
    const attackPng = await decryptionPicture(
      [{ cipher: new Float32Array(192).fill(0.2), adapt: new Float32Array(192).fill(0.5) }],
      { c: 3, h: 8, w: 8 },
    );
    const out = join(root, "demo.html");
    await writeReport({
      runDirs: [dir],
      out,
      title: "demo",
      intro: "A client encrypted images; a provider trained on them.",
      attack: {
        psnr: 48.03,
        images: 1000,
        seconds: 24.2,
        encrypted: "10,000 encrypted CIFAR-10 training images",
        reference: "5,000 plain CIFAR-10 test photos",
        picture: attackPng,
      },
    });
    const html = readFileSync(out, "utf8");
    // headline before everything else, with the three numbers
    const head = html.indexOf('class="headline"');
    assert.ok(head > 0 && head < html.indexOf("<section"), "headline above the sections");
    const headText = html.slice(head, html.indexOf("<section"));
    assert.match(headText, /65\.1%.*test accuracy on 1,000 encrypted images.*\(4 epochs in 2\.4 min\)/s);
    assert.match(headText, /14\.9 dB.*adaptation network.*output/s);
    assert.match(headText, /48\.0 dB.*ciphertext-only attack/s);
    assert.ok(html.includes("A client encrypted images; a provider trained on them."));
    // human labels with units, the raw names only in title= tooltips
    for (const label of [
      "test accuracy",
      "adaptation output PSNR without the fit",
      "training time",
      "learning rate",
      "warm-up (epochs)",
    ])
      assert.ok(html.includes(`>${label}</th>`), `label '${label}'`);
    const visible = html.replace(/title="[^"]*"/g, "").replace(/<svg[\s\S]*?<\/svg>/g, "");
    for (const raw of ["testAcc", "psnrRaw", "bestValAcc", "wallSeconds", "warmupEpochs"])
      assert.ok(!visible.includes(raw), `raw field name ${raw} not shown`);
    assert.ok(html.includes("2.4 min (141 s)") || html.includes("141.0 s"));
    // honest PSNR axis: at least 10 dB tall, not 14.926-14.946; integer epoch ticks only
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    const psnrSvg = svgs.find((s) => s.includes("Decryption PSNR"))!;
    const ticks = (svg: string, axis: string) =>
      [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).filter((t) => /^-?[\d.]+$/.test(t) && axis);
    const psnrTicks = ticks(psnrSvg, "y").map(Number);
    assert.ok(Math.max(...psnrTicks) - Math.min(...psnrTicks) >= 8, `PSNR ticks ${psnrTicks}`);
    assert.ok(!psnrSvg.replace(/aria-label="[^"]*"/g, "").includes(">14.93"), "no magnified noise");
    const accSvg = svgs.find((s) => s.includes("Accuracy"))!;
    assert.ok(!/>\d+\.5</.test(accSvg.replace(/aria-label="[^"]*"/g, "")), "no fractional epoch ticks");
    assert.ok(accSvg.includes(">training<") && accSvg.includes(">validation<"), "series named in words");
    // the attack: numbers, words and the picture
    assert.ok(html.includes("The eavesdropper's ciphertext-only attack"));
    assert.ok(html.includes("48.0 dB PSNR") && html.includes("5,000 plain CIFAR-10 test photos"));
    assert.ok(html.includes(attackPng.toString("base64")));
    assert.ok(html.includes(">after epoch 2<"), "picture captions in words");
  });
});
