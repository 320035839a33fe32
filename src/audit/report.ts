/**
 * The audit's outputs: the terminal verdict (plain lines) and the self-contained HTML page, from one AuditResult,
 * so the page holds exactly the numbers the terminal printed.
 */
import { AMBIGUITY_DB, type ChannelReport } from "../attack/index.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { type AuditPage, type AuditPageRow, renderAuditPage } from "../report/audit-page.ts";
import { AUDIT_DEFAULTS, type AuditResult, aGrid, VERDICT } from "./audit.ts";
import { attackPicture, leakPicture } from "./measure.ts";

/** The terminal report: headline, then the supporting lines. */
export function verdictText(r: AuditResult): string {
  return [r.verdict.headline, ...r.verdict.lines.map((l) => `  ${l}`)].join("\n");
}

/** Up to `count` measured images, one per class first (so the pictures show a varied sample), then the rest. */
export function variedRows(r: AuditResult, count: number = AUDIT_DEFAULTS.pictureRows): number[] {
  const seen = new Set<number>();
  const first: number[] = [];
  const rest: number[] = [];
  for (const [i, q] of r.measures.measured.entries()) {
    const label = r.sample.labels[q];
    if (seen.has(label)) rest.push(i);
    else {
      seen.add(label);
      first.push(i);
    }
  }
  const picked = [...first, ...rest].slice(0, count);
  // spread over the classes seen, not just the first ones
  if (first.length > count)
    return Array.from({ length: count }, (_, j) => first[Math.floor((j * first.length) / count)]);
  return picked;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

function channelRow(ch: number, c: ChannelReport) {
  const by =
    c.solvedBy === "search"
      ? "its own search"
      : c.solvedBy === "retry"
        ? "fresh starts after a failed search"
        : `channel ${c.solvedBy.fromChannel}'s estimate (${c.solvedBy.how === "tie" ? "tied channels" : "cross-channel statistics"})`;
  return {
    channel: `${ch}${c.tiedTo !== null ? ` (tied to ${c.tiedTo})` : ""}`,
    mismatch: c.relativeLoss.toExponential(2),
    solvedBy: by,
    confirmations:
      `${c.confirmations} of ${c.starts}${c.tiedTo !== null ? "+" : ""}` +
      (c.agreeingChannels ? ` + ${c.agreeingChannels} channel${c.agreeingChannels > 1 ? "s" : ""}` : ""),
    agreement: Number.isFinite(c.agreementDb) ? `${c.agreementDb.toFixed(1)} dB apart` : "identical",
    status: c.reliable ? "reliable" : `UNRELIABLE: ${c.problems.join("; ")}`,
  };
}

/** The page's table rows: every number the terminal printed, with its meaning. */
export function auditRows(r: AuditResult): AuditPageRow[] {
  const m = r.measures;
  const rows: AuditPageRow[] = [
    {
      measure: "decryption PSNR (attack, no key)",
      value: `${m.psnr.toFixed(2)} dB`,
      meaning: `peak signal-to-noise ratio of the attack's decryptions against your images; ≥ ${VERDICT.psnrDb} dB looks like a copy, ~12–15 dB is a flat colour field, but pictures at 14 dB can still be recognisable`,
    },
    {
      measure: "decryption SSIM",
      value: m.ssim.toFixed(3),
      meaning: `structural similarity (1 = identical structure, ~0 = none); ≥ ${VERDICT.ssim} means shapes and edges are plainly visible`,
    },
    {
      measure: "re-identification rate",
      value: `${pct(m.reid.rate)} of ${m.images} (chance ${pct(m.reid.chance)})`,
      meaning: `share of decryptions whose closest image among ${m.reid.pool} of your plaintexts is their own: an eavesdropper holding some of your images could match them`,
    },
  ];
  const sc = r.scramble;
  if (sc)
    rows.unshift({
      measure: "block scrambling: positions reassembled (no key)",
      value: sc.skipped
        ? `not run: ${sc.skipped}`
        : `${pct(sc.correct)} of the positions right${sc.symmetry ? " (up to a mirror/rotation)" : ""}; ${pct(sc.assembled)} in one piece; ${sc.images} ciphertexts, ${sc.seconds.toFixed(1)} s`,
      meaning:
        "the key moves every image's blocks by the same secret permutation; the eavesdropper's jigsaw recovers it from how strongly the ciphertext blocks at two positions co-vary over many images (neighbours co-vary most, whatever the key), and the measures below are of the attack on its reassembly",
    });
  const rg = r.recognisability;
  if (rg)
    rows.push({
      measure: "recognisability",
      value: `${pct(rg.decryptedAccuracy)} on decryptions vs ${pct(rg.plainAccuracy)} on plaintexts (chance ${pct(rg.chance)}; ratio ${rg.ratio.toFixed(2)})`,
      meaning: `accuracy of a small classifier (ResNet-20, trained on ${rg.trainedOn}, ${rg.seconds.toFixed(0)} s) on the attack's decryptions next to your plaintexts: how much of what a model can see survives`,
    });
  rows.push(
    {
      measure: "flat blocks (no attack)",
      value: `${pct(m.leak.flatBlocks)} of the blocks; ${pct(m.leak.repeatedCipherBlocks)} of the ciphertext blocks repeat a neighbour`,
      meaning:
        "a constant block encrypts to a fixed direction and a zero block to zero: flat backgrounds show as repeated ciphertext blocks, outlining the objects with no key",
    },
    {
      measure: "block-activity correlation (no attack)",
      value: m.leak.edgeCorrelation.toFixed(3),
      meaning: `correlation between how much each ciphertext block differs from its neighbours and the same for the plaintext: ${aGrid(m.leak.grid)} edge sketch readable from the ciphertext alone (≥ ${VERDICT.edgeCorrelation} is a clear outline)`,
    },
    {
      measure: "key estimate error",
      value: m.keyInverseError.toFixed(3),
      meaning:
        "‖K̂⁻¹ − K⁻¹‖/‖K⁻¹‖: often large even when the decryption is good, because the error sits where photos have little energy",
    },
  );
  return rows;
}

export const AUDIT_LEVERS = [
  "Larger blocks (k = 8, 16) make the statistics match less tightly and the attack slower; at k = 8 it still decrypts recognisably, so a larger block alone is not protection.",
  "More ciphertext images give the attacker better statistics; fewer images make the attack noisier but not blind.",
  "Reference photos closer to your images (same kind of scene, same camera, greyscale scans for scans) make the attack stronger: the audit's number is only as strong as the reference you give it.",
  `A longer key search (--restarts, --iterations) lowers the mismatch; an attack flagged unreliable (its mismatch above the noise floor of the reference's own halves, near-best fits more than ${AMBIGUITY_DB} dB apart, or no second independent route to its fit) may do better with more.`,
  "Flat backgrounds and padding leak outlines with no attack at all: crop them, or add noise before encryption.",
  "Scrambling block positions (keygen --scramble) does not remove them: one permutation serves every image, and a jigsaw solved from the ciphertext statistics reassembles the grid (docs/audit.md). A cipher that is not linear per block would remove the statistical relations this attack uses.",
];

export async function auditPage(r: AuditResult): Promise<AuditPage> {
  const rows = variedRows(r);
  const pictures = [
    {
      caption: r.scramble
        ? "What the eavesdropper gets: ciphertext (block positions reassembled by the jigsaw, no key) | the attack's decryption (no key, public photos only) | your plaintext, for a varied sample of classes."
        : "What the eavesdropper gets: ciphertext (as sent) | the attack's decryption (no key, public photos only) | your plaintext, for a varied sample of classes.",
      png: await attackPicture(r.sample, r.measures, rows),
    },
    {
      caption:
        "With no attack at all: how much each ciphertext block differs from its neighbours (bright = busy), next to the plaintext.",
      png: await leakPicture(
        r.sample,
        r.blockSize,
        rows.map((i) => r.measures.measured[i]),
      ),
    },
  ];
  return {
    title: `Privacy audit of ${r.store}`,
    // the page prints the level as its own badge ("EXPOSED:"), so the headline drops it
    headline: withoutLevel(r.verdict.headline, r.verdict.level),
    level: r.verdict.level,
    lines: r.verdict.lines,
    rows: auditRows(r),
    channels: r.channels.map((c, ch) => channelRow(ch, c)),
    pictures,
    levers: AUDIT_LEVERS,
    facts: [
      `store ${r.store}: ${r.storeImages} images of ${r.shape.join("×")}, block size k = ${r.blockSize}${r.scramble ? ", block scrambling" : ""}, key fingerprint ${r.keyFingerprint} (the key was used only to measure, locally)`,
      `reference ${r.reference} (${r.referenceKind}); statistics from ${r.statsImages.cipher} ciphertexts and ${r.statsImages.reference} reference images`,
      `attack ${r.attackSeconds.toFixed(1)} s (${r.energyRelations ? "second-order and energy-weighted relations" : "second-order relations"}); whole audit ${r.seconds.toFixed(1)} s`,
      `measured on ${r.measures.images} images spread over the store; re-identification pool ${r.measures.reid.pool} plaintexts`,
    ],
  };
}

export async function writeAuditPage(r: AuditResult, path: string): Promise<void> {
  await writeFileAtomic(path, renderAuditPage(await auditPage(r)));
}

/** The verdict's headline without its leading "LEVEL: " (the page prints the level apart). */
export function withoutLevel(headline: string, level: string): string {
  const prefix = `${level.toUpperCase()}: `;
  return headline.startsWith(prefix) ? headline.slice(prefix.length) : headline;
}
