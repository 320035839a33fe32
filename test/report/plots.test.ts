import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { barChart, honestDomain, lineChart, savePlot } from "../../src/report/plots.ts";

const externalRef = /(?:src|href)\s*=\s*["']?https?:/i;

describe("plots", () => {
  it("lineChart: series, axis titles, legend, round rules; SVG and PNG", async () => {
    const p = await lineChart({
      title: "Validation accuracy",
      xLabel: "epoch",
      yLabel: "accuracy",
      series: [
        { name: "train", points: [1, 2, 3, 4].map((x) => ({ x, y: 0.2 * x })) },
        { name: "val", points: [1, 2, 3, 4].map((x) => ({ x, y: 0.15 * x + (x === 3 ? Number.NaN : 0) })) },
      ],
      rules: [{ x: 2.5, label: "round 2" }],
    });
    assert.match(p.svg, /^<svg/);
    for (const text of ["Validation accuracy", "epoch", "accuracy", "train", "val", "round 2"]) {
      assert.ok(p.svg.includes(text), `svg mentions ${text}`);
    }
    assert.doesNotMatch(p.svg, externalRef);
    const png = await p.png();
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, "png");
    assert.ok(meta.width! > 600 && meta.height! > 300, `${meta.width}×${meta.height}`);
  });

  it("barChart: grouped bars with value labels and legend; savePlot by extension", async () => {
    const p = await barChart({
      title: "Test accuracy by backbone",
      yLabel: "accuracy (%)",
      groupLabel: "adaptation",
      bars: [
        { label: "ResNet-50", group: "without", value: 69.42 },
        { label: "ResNet-50", group: "with", value: 68.92 },
        { label: "ConvNeXt-T", group: "without", value: 80.33 },
        { label: "ConvNeXt-T", group: "with", value: 79.75 },
      ],
    });
    for (const text of [
      "Test accuracy by backbone",
      "accuracy (%)",
      "adaptation",
      "ResNet-50",
      "ConvNeXt-T",
      "69.42",
      "79.75",
    ]) {
      assert.ok(p.svg.includes(text), `svg mentions ${text}`);
    }
    const dir = mkdtempSync(join(tmpdir(), "ercnn-plot-"));
    try {
      await savePlot(join(dir, "bars.svg"), p);
      await savePlot(join(dir, "bars.png"), p);
      assert.equal(readFileSync(join(dir, "bars.svg"), "utf8"), p.svg);
      assert.equal((await sharp(readFileSync(join(dir, "bars.png"))).metadata()).format, "png");
      await assert.rejects(savePlot(join(dir, "bars.jpg"), p), /\.svg or \.png/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const single = await barChart({ title: "Runs", yLabel: "acc", bars: [{ label: "a", value: 0.5 }] });
    assert.ok(single.svg.includes("0.50"));
  });
});

describe("honest axes", () => {
  it("honestDomain widens a tiny range to the minimum span, centred, and keeps it inside the bounds", () => {
    // PSNR moving by 0.02 dB: shown over 10 dB around it, not magnified
    assert.deepEqual(honestDomain([14.926, 14.936, 14.946], { minSpan: 10, bounds: [0, Infinity] }), [9.936, 19.936]);
    // near a bound the window slides instead of crossing it
    assert.deepEqual(honestDomain([2, 3], { minSpan: 10, bounds: [0, Infinity] }), [0, 10]);
    assert.deepEqual(honestDomain([95, 99], { minSpan: 50, bounds: [0, 100] }), [50, 100]);
    // a range wider than the minimum is kept as it is
    assert.deepEqual(honestDomain([20, 80], { minSpan: 50, bounds: [0, 100] }), [20, 80]);
    assert.equal(honestDomain([Number.NaN], { minSpan: 1 }), undefined);
  });

  it("integer epoch ticks: no 1.5, 2.5 on the x axis", async () => {
    const series = [{ name: "val", points: [1, 2, 3].map((x) => ({ x, y: x })) }];
    const tickTexts = (svg: string) =>
      [...svg.replace(/aria-label="[^"]*"/g, "").matchAll(/>(\d+\.\d+)</g)].map((m) => m[1]);
    const frac = await lineChart({ series, title: "t", xLabel: "epoch", yLabel: "y", yDomain: [0, 10] });
    assert.ok(tickTexts(frac.svg).length > 0, "vega's default ticks are fractional for 3 points");
    const whole = await lineChart({
      series,
      title: "t",
      xLabel: "epoch",
      yLabel: "y",
      yDomain: [0, 10],
      integerX: true,
    });
    assert.deepEqual(tickTexts(whole.svg), []);
  });
});
