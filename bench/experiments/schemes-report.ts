/**
 * The scheme comparison's outputs (schemes.ts): one markdown table (a row per scheme, plus the plain controls) and one
 * SVG plot of test accuracy against the PSNR of the eavesdropper's best decryption (vega-lite, rendered headless by
 * src/report/plots.ts). A scheme no attack of ercnn applies to is plotted at its no-attack PSNR (the ciphertext read
 * as an image) with its own mark shape and labelled "resisted these attacks", never "safe".
 */
import type { TopLevelSpec } from "vega-lite";
import { renderSpec } from "../../src/report/plots.ts";
import { type Row, toMarkdown } from "../../src/report/table.ts";
import type { Eavesdropping } from "./schemes-eavesdropper.ts";

export interface SchemeRow {
  scheme: string;
  /** "plain" for the controls. */
  network: string;
  fingerprint: string | null;
  eaves: Eavesdropping | null;
  testAcc: number | null;
  trainSeconds: number | null;
  encryptSeconds: number | null;
  /** Why no accuracy (no provider for this dataset), when testAcc is null. */
  note?: string;
}

const pct = (v: number | null) => (v === null ? "–" : `${(100 * v).toFixed(2)}%`);
const db = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(2));
const fix = (v: number | undefined, d = 3) => (v === undefined ? "–" : v.toFixed(d));
const secs = (v: number | null) => (v === null ? "–" : v.toFixed(0));

/** The eavesdropper's best decryption: the attack's where one applies, else the ciphertext as an image. */
export function bestRecovery(e: Eavesdropping) {
  return e.recovered ?? e.noAttack;
}

export function schemesTable(rows: SchemeRow[], plainAcc: Record<string, number | null>): string {
  const out: Row[] = rows.map((r) => {
    const e = r.eaves;
    return {
      scheme: r.scheme,
      network: r.network,
      "test acc": pct(r.testAcc),
      "plain control": r.network in plainAcc ? pct(plainAcc[r.network]) : "–",
      attack: e ? (e.attack ?? "none applies: resisted these attacks") : "–",
      "ciphertexts read": e?.ciphertexts ?? "–",
      "attack PSNR dB": db(e?.recovered?.psnr),
      "attack SSIM": fix(e?.recovered?.ssim),
      "attack re-id": e?.recovered ? pct(e.recovered.reid) : "–",
      "no-attack PSNR dB": db(e?.noAttack.psnr),
      "no-attack re-id": e ? pct(e.noAttack.reid) : "–",
      "re-id chance": e ? pct(e.chance) : "–",
      "attack s": secs(e?.seconds ?? null),
      "encrypt s": secs(r.encryptSeconds),
      "train s": secs(r.trainSeconds),
      note: [
        e?.jigsaw ? `jigsaw: ${pct(e.jigsaw.correct)} of positions from ${e.jigsaw.images} ciphertexts` : "",
        r.note ?? "",
      ]
        .filter(Boolean)
        .join("; "),
    };
  });
  return toMarkdown(out);
}

/** Accuracy (y) against the eavesdropper's best PSNR (x), a labelled point per scheme, plain controls as rules. */
export async function schemesPlot(rows: SchemeRow[], plainAcc: Record<string, number | null>, title: string) {
  const points = rows
    .filter((r) => r.testAcc !== null && r.eaves)
    .map((r) => ({
      scheme: r.scheme,
      network: r.network,
      acc: 100 * r.testAcc!,
      psnr: bestRecovery(r.eaves!).psnr,
      eavesdropper: r.eaves!.attack ? "attack's decryption" : "no attack applies (ciphertext as image)",
    }));
  const controls = Object.entries(plainAcc)
    .filter(([, v]) => v !== null)
    .map(([network, v]) => ({ network, acc: 100 * v!, label: `plain control (${network})` }));
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 560,
    height: 340,
    config: { font: "DejaVu Sans, sans-serif", background: "white" },
    layer: [
      {
        data: { values: controls },
        mark: { type: "rule", strokeDash: [4, 4], color: "#888" },
        encoding: { y: { field: "acc", type: "quantitative" } },
      },
      {
        data: { values: controls },
        mark: { type: "text", align: "left", dx: 4, dy: -6, color: "#666", x: 0 },
        encoding: { y: { field: "acc", type: "quantitative" }, text: { field: "label" } },
      },
      {
        data: { values: points },
        mark: { type: "point", size: 90, strokeWidth: 2 },
        encoding: {
          x: {
            field: "psnr",
            type: "quantitative",
            title: "eavesdropper's decryption PSNR (dB, higher = more leaked)",
            // room right of the 100 dB cap for the point's label
            scale: { domain: [0, 120] },
          },
          // accuracy from 0: a scheme's cost reads as a length, not as a zoomed-in gap
          y: { field: "acc", type: "quantitative", title: "test accuracy (%)", scale: { zero: true } },
          color: { field: "network", type: "nominal", title: "provider network" },
          shape: { field: "eavesdropper", type: "nominal", title: "eavesdropper", legend: { labelLimit: 360 } },
        },
      },
      {
        data: { values: points },
        mark: { type: "text", align: "left", dx: 8, dy: 3 },
        encoding: {
          x: { field: "psnr", type: "quantitative" },
          y: { field: "acc", type: "quantitative" },
          text: { field: "scheme" },
        },
      },
    ],
  };
  return renderSpec(spec);
}
