import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { barChart, lineChart, savePlot } from "../../src/report/plots.ts";

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
