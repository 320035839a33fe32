/**
 * Charts for reports, specified in vega-lite, compiled to vega and rendered headless to SVG (renderer "none");
 * PNGs are rasterised from that SVG with sharp (at 2× density by default).
 */
import { extname } from "node:path";
import sharp from "sharp";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "../core/atomic.ts";

export interface Plot {
  /** The vega-lite spec the chart was made from (data inlined). */
  spec: TopLevelSpec;
  svg: string;
  /** PNG bytes; density in dpi (default 144, i.e. 2× the SVG's pixel size). */
  png(density?: number): Promise<Buffer>;
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
}

export interface LineChartOptions {
  series: LineSeries[];
  title: string;
  xLabel: string;
  yLabel: string;
  /** Vertical marker lines (e.g. round boundaries), with an optional label at the top. */
  rules?: { x: number; label?: string }[];
  /** Fixed y range (default: fitted to the data, not forced to include 0); see honestDomain. */
  yDomain?: [number, number];
  /** x values are counts (epochs): integer ticks only. */
  integerX?: boolean;
  width?: number;
  height?: number;
  /** Draw a dot at each point (default: when no series has more than 60 points). */
  points?: boolean;
}

export interface BarChartOptions {
  bars: { label: string; value: number; group?: string }[];
  title: string;
  yLabel: string;
  /** x axis title (default none). */
  xLabel?: string;
  /** Legend title for the groups (default "group"). */
  groupLabel?: string;
  yDomain?: [number, number];
  width?: number;
  height?: number;
  /** d3-format for the value labels on the bars (default ".2f"; "" for none). */
  valueFormat?: string;
}

const CONFIG = {
  font: "DejaVu Sans, sans-serif",
  background: "white",
  padding: 12,
  title: { fontSize: 15, anchor: "start" as const, offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: "#e6e6e6" },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: "right" as const },
  view: { stroke: "#bbb" },
};

/**
 * A y range that does not magnify noise: the data's range, widened to at least `minSpan` (centred on the data)
 * and kept inside `bounds` (e.g. [0, 100] for a percentage). A PSNR that moves by 0.02 dB then looks flat, as it is.
 */
export function honestDomain(
  values: number[],
  opts: { minSpan: number; bounds?: [number, number] },
): [number, number] | undefined {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return undefined;
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (hi - lo < opts.minSpan) {
    const mid = (lo + hi) / 2;
    lo = mid - opts.minSpan / 2;
    hi = mid + opts.minSpan / 2;
  }
  const [bLo, bHi] = opts.bounds ?? [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  if (lo < bLo) [lo, hi] = [bLo, Math.min(bHi, hi + (bLo - lo))];
  if (hi > bHi) [lo, hi] = [Math.max(bLo, lo - (hi - bHi)), bHi];
  return [lo, hi];
}

/** Render a vega-lite spec to an SVG string (no network: data must be inline). */
export async function renderSpec(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

async function makePlot(spec: TopLevelSpec): Promise<Plot> {
  const svg = await renderSpec(spec);
  return {
    spec,
    svg,
    png: (density = 144) => sharp(Buffer.from(svg), { density }).png().toBuffer(),
  };
}

/** A multi-series line chart (one colour per series, with legend). Non-finite y values are dropped. */
export async function lineChart(opts: LineChartOptions): Promise<Plot> {
  const values = opts.series.flatMap((s) =>
    s.points
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .map((p) => ({ series: s.name, x: p.x, y: p.y })),
  );
  const showPoints = opts.points ?? opts.series.every((s) => s.points.length <= 60);
  const layers: any[] = [
    {
      data: { values },
      mark: { type: "line", point: showPoints, strokeWidth: 2, clip: true },
      encoding: {
        x: {
          field: "x",
          type: "quantitative",
          title: opts.xLabel,
          scale: { zero: false, nice: false, padding: 8 },
          ...(opts.integerX ? { axis: { tickMinStep: 1, format: "d" } } : {}),
        },
        y: {
          field: "y",
          type: "quantitative",
          title: opts.yLabel,
          scale: opts.yDomain ? { domain: opts.yDomain, nice: false } : { zero: false },
        },
        color: {
          field: "series",
          type: "nominal",
          title: null,
          sort: opts.series.map((s) => s.name),
          scale: { scheme: "tableau10" },
        },
        tooltip: [
          { field: "series", type: "nominal" },
          { field: "x", type: "quantitative" },
          { field: "y", type: "quantitative", format: ".4g" },
        ],
      },
    },
  ];
  if (opts.rules && opts.rules.length > 0) {
    const rules = opts.rules.map((r) => ({ x: r.x, label: r.label ?? "" }));
    layers.push({
      data: { values: rules },
      mark: { type: "rule", strokeDash: [4, 3], color: "#888" },
      encoding: { x: { field: "x", type: "quantitative" } },
    });
    layers.push({
      data: { values: rules },
      mark: { type: "text", align: "left", baseline: "top", dx: 3, dy: 2, y: 0, color: "#555", fontSize: 10 },
      encoding: { x: { field: "x", type: "quantitative" }, text: { field: "label" } },
    });
  }
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: opts.title,
    width: opts.width ?? 480,
    height: opts.height ?? 260,
    config: CONFIG,
    layer: layers,
  } as TopLevelSpec;
  return makePlot(spec);
}

/**
 * A bar chart; with `group` on the bars, grouped bars (one colour per group, side by side within each label),
 * e.g. accuracy with/without adaptation per backbone. Value labels are drawn above the bars.
 */
export async function barChart(opts: BarChartOptions): Promise<Plot> {
  const grouped = opts.bars.some((b) => b.group !== undefined);
  const values = opts.bars
    .filter((b) => Number.isFinite(b.value))
    .map((b) => ({ label: b.label, value: b.value, group: b.group ?? "" }));
  const labels = [...new Set(opts.bars.map((b) => b.label))];
  const groups = [...new Set(opts.bars.map((b) => b.group ?? ""))];
  const x = {
    field: "label",
    type: "nominal",
    title: opts.xLabel ?? null,
    sort: labels,
    axis: { labelAngle: labels.length > 6 ? -30 : 0, labelLimit: 160 },
  };
  const y = {
    field: "value",
    type: "quantitative",
    title: opts.yLabel,
    scale: opts.yDomain ? { domain: opts.yDomain } : {},
  };
  const xOffset = grouped ? { xOffset: { field: "group", type: "nominal", sort: groups } } : {};
  const color = grouped
    ? {
        color: {
          field: "group",
          type: "nominal",
          title: opts.groupLabel ?? "group",
          sort: groups,
          scale: { scheme: "tableau10" },
        },
      }
    : { color: { value: "#4c78a8" } };
  const layers: any[] = [
    {
      mark: { type: "bar" },
      encoding: { x, y, ...xOffset, ...color, tooltip: [{ field: "label" }, { field: "group" }, { field: "value" }] },
    },
  ];
  const fmt = opts.valueFormat ?? ".2f";
  if (fmt !== "") {
    layers.push({
      mark: { type: "text", baseline: "bottom", dy: -2, fontSize: 10, color: "#333" },
      encoding: { x, y, ...xOffset, text: { field: "value", type: "quantitative", format: fmt } },
    });
  }
  // with xOffset, vega-lite's width step is per bar (offset band); without it, per label
  const step = grouped ? Math.max(14, Math.min(36, Math.floor(480 / Math.max(1, labels.length * groups.length)))) : 64;
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: opts.title,
    width: opts.width ?? { step },
    height: opts.height ?? 260,
    config: CONFIG,
    data: { values },
    layer: layers,
  } as TopLevelSpec;
  return makePlot(spec);
}

/** Write a plot as .svg or .png (by the path's extension), atomically. */
export async function savePlot(path: string, plot: Plot): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext === ".svg") await writeFileAtomic(path, plot.svg);
  else if (ext === ".png") await writeFileAtomic(path, await plot.png());
  else throw new Error(`savePlot: ${path}: extension must be .svg or .png`);
}
