import { existsSync } from "node:fs";
import { Command } from "commander";
import {
  type AttackMeasures,
  measureAttack,
  measurePlan,
  readSample,
  writeAttackPicture,
} from "../../audit/measure.ts";
import { searchFact } from "../../audit/report.ts";
import { sparsitySearch } from "../../../bench/experiments/attack-sparsity-search.ts";
import { attackLinalg } from "../../attack/torch-linalg.ts";
import { type ChannelReport, makeKey, type StatisticalAttackOptions, shortFingerprint } from "../../cipher/index.ts";
import { invert } from "../../core/linalg.ts";
import { attackStore, Store } from "../../data/index.ts";
import { loadKey, saveKey } from "../../data/keyfile.ts";
import { positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";

/**
 * The attack's search settings from command-line options (undefined = the attack's defaults), with its linear algebra
 * on libtorch (the CLI always has it; k = 16 is impractical with the JS loops).
 */
export function attackTuning(o: { restarts?: number; iterations?: number; seed?: number }): StatisticalAttackOptions {
  return { restarts: o.restarts, iterations: o.iterations, seed: o.seed, linalg: attackLinalg };
}

/** A progress bar per stage ("what"), or nothing when quiet. */
export function progressReporter(quiet: boolean | undefined, make: typeof createProgress) {
  let bar: ReturnType<typeof createProgress> | null = null;
  let label = "";
  return {
    update: (what: string, done: number, total: number) => {
      if (quiet) return;
      if (what !== label) {
        bar?.stop();
        label = what;
        bar = make({ label: what, total, unit: "" });
      }
      bar!.update(done);
    },
    stop: () => bar?.stop(),
  };
}

/** One line per channel: objective, how it was solved, and whether it can be trusted. */
export function channelLines(reports: ChannelReport[]): string[] {
  return reports.map((c, ch) => {
    const by =
      typeof c.solvedBy === "string"
        ? c.solvedBy
        : `from channel ${c.solvedBy.fromChannel} (${c.solvedBy.how === "tie" ? "tied channels" : "cross-channel statistics"})`;
    return (
      `  channel ${ch}: statistics mismatch ${c.loss.toExponential(2)} (share ${c.relativeLoss.toExponential(2)}), ` +
      `solved by ${by}, ${c.confirmations} of ${c.starts} starts` +
      (c.agreeingChannels ? ` and ${c.agreeingChannels} other channel${c.agreeingChannels > 1 ? "s" : ""}` : "") +
      " agree" +
      (c.reliable ? "" : `; UNRELIABLE: ${c.problems.join("; ")}`)
    );
  });
}

export interface AttackOptions {
  store: string;
  reference: string;
  out?: string;
  evalKey?: string;
  picture?: string;
  limit?: number;
  restarts?: number;
  iterations?: number;
  seed?: number;
  pool?: number;
  measured?: number;
  /** Match the energy-weighted relations too (default: for k ≥ 8; `--no-energy` leaves them out). */
  energy?: boolean;
  /** Refine the estimate with the sparsity search (experimental, as `ercnn audit --search`). */
  search?: boolean;
  searchRelaxations?: number;
  /** Ciphertext images the sparsity search samples its patches from (default 1000). */
  searchImages?: number;
  quiet?: boolean;
}

/** Runs the attack; returns the report lines, the measures (with evalKey) and the time taken. */
export async function runAttack(
  o: AttackOptions,
): Promise<{ lines: string[]; psnr?: number; measures?: AttackMeasures; reliable: boolean; seconds: number }> {
  if (o.picture && !o.evalKey) throw new Error("--picture needs --eval-key (the plaintext column)");
  if (o.out && existsSync(o.out)) throw new Error(`${o.out} already exists; refusing to overwrite a key file`);
  const store = Store.open(o.store);
  const reference = Store.open(o.reference);
  const evalKey = o.evalKey ? await loadKey(o.evalKey) : null;
  if (evalKey) store.checkKey(evalKey);
  const progress = progressReporter(o.quiet, createProgress);
  const t0 = performance.now();
  const r = attackStore(store, reference, {
    limit: o.limit,
    ...attackTuning(o),
    energyRelations: o.energy,
    onProgress: progress.update,
  });
  let searchLine: string | null = null;
  if (o.search) {
    const t1 = performance.now();
    const [c, h, w] = store.shape;
    const count = Math.min(store.count, o.searchImages ?? 1000);
    const cipher = store.readPositions(Array.from({ length: count }, (_, i) => Math.floor((i * store.count) / count)));
    const budget = o.searchRelaxations;
    const s = sparsitySearch(
      cipher,
      { n: count, c, h, w, layout: "CHW" },
      r.cipherStats,
      r.plainStats,
      r.inverse,
      { maxRelaxations: budget },
      (ch, done, total) => progress.update("sparsity search (relaxations)", ch * total + done, c * total),
      r.fits,
    );
    const n2 = r.blockSize ** 2;
    for (let ch = 0; ch < r.channels; ch++) {
      const K = invert(s.inverse.subarray(ch * n2 * n2, (ch + 1) * n2 * n2), n2);
      if (!K) throw new Error(`attack: the sparsity search's estimate of channel ${ch} is singular (a bug)`);
      r.key.set(K, ch * n2 * n2);
    }
    r.inverse = s.inverse;
    searchLine = searchFact({ channels: s.channels, seconds: (performance.now() - t1) / 1000 });
  }
  progress.stop();
  const seconds = (performance.now() - t0) / 1000;
  const lines = [
    `ciphertext-only attack on ${o.store} (k=${r.blockSize}) in ${seconds.toFixed(1)} s; statistics mismatch per channel: ${r.loss.map((v) => v.toExponential(2)).join(", ")}`,
    ...channelLines(r.channelReports),
    ...(searchLine ? [searchLine] : []),
    r.reliable
      ? "estimate: reliable in every channel"
      : "estimate: UNRELIABLE (see the channels above): a failed attack here does not mean the images are safe",
  ];
  if (o.out) {
    const estimate = await makeKey({
      mode: "uniform",
      blockSize: r.blockSize,
      channels: r.channels,
      values: r.key,
      source: "attack estimate",
    });
    await saveKey(o.out, estimate);
    lines.push(`estimated key written to ${o.out} (fingerprint ${shortFingerprint(estimate)}, mode 0600)`);
  }
  let measures: AttackMeasures | undefined;
  if (evalKey) {
    const plan = measurePlan(store.count, o.pool ?? 1000, o.measured ?? 200);
    const sample = readSample(store, plan.pool, evalKey);
    measures = measureAttack(sample, plan.measured, r.inverse, evalKey);
    const m = measures;
    const n2 = r.blockSize ** 2;
    lines.push(
      `measured with the true key: decryption PSNR ${m.psnr.toFixed(2)} dB on ${m.images} images; ` +
        `K⁻¹ relative error ${m.keyInverseError.toFixed(3)} (${r.channels}×${n2}×${n2})`,
      `  SSIM ${m.ssim.toFixed(3)}; re-identified ${(100 * m.reid.rate).toFixed(1)}% among ${m.reid.pool} plaintexts ` +
        `(chance ${(100 * m.reid.chance).toFixed(2)}%)`,
      `  no attack: ${(100 * m.leak.flatBlocks).toFixed(1)}% flat blocks, ciphertext block activity vs plaintext ` +
        `correlation ${m.leak.edgeCorrelation.toFixed(3)}`,
    );
    if (o.picture) {
      const rows = Array.from({ length: Math.min(8, m.images) }, (_, i) =>
        Math.floor((i * m.images) / Math.min(8, m.images)),
      );
      await writeAttackPicture(o.picture, sample, m, rows);
      lines.push(`picture written to ${o.picture}`);
    }
  }
  return { lines, psnr: measures?.psnr, measures, reliable: r.reliable, seconds };
}

/** The eavesdropper's ciphertext-only attack: the key from ciphertext statistics and public plain images. */
export function attackCommand(): Command {
  return new Command("attack")
    .description(
      "ciphertext-only attack: estimate an encrypted store's key from its block statistics and those of plain " +
        "reference images (no plaintext of the encrypted images needed)",
    )
    .argument("<store>", "encrypted store (ercnn encrypt output)")
    .requiredOption("--reference <store>", "store of PLAIN images with natural-image statistics (other classes/photos)")
    .option("-o, --out <file>", "write the estimated key here (a key file, mode 0600: it decrypts the store)")
    .option("--eval-key <file>", "the true key, used ONLY to measure the attack (PSNR, SSIM, re-identification)")
    .option("--picture <file>", "PNG: ciphertext | attack decryption | plaintext (with --eval-key)")
    .option("--limit <n>", "images used from each store (default: all)", positiveInteger)
    .option(
      "--restarts <n>",
      "random starts per channel (default 12 for k ≤ 4, 8 for k = 5–8, 4 for k = 9–15, 2 from k = 16)",
      positiveInteger,
    )
    .option(
      "--iterations <n>",
      "objective evaluations per start (default 1500 for k ≤ 4, 200 from k = 16, else 400)",
      positiveInteger,
    )
    .option("--seed <n>", "seed of the random starts (default 1)", positiveInteger)
    .option("--pool <n>", "with --eval-key: plaintexts in the re-identification pool (default 1000)", positiveInteger)
    .option("--measured <n>", "with --eval-key: images decrypted and measured (default 200)", positiveInteger)
    .option("--energy", "also match energy-weighted (fourth-order) relations (default for k ≥ 8; a second pass)")
    .option("--no-energy", "second-order relations only")
    .option("--search", "experimental: refine the estimate with the sparsity search (libtorch L-BFGS)")
    .option("--search-relaxations <n>", "sparsity search: L-BFGS relaxations per channel (default 60)", positiveInteger)
    .option("--search-images <n>", "sparsity search: ciphertext images it samples (default 1000)", positiveInteger)
    .option("-q, --quiet", "no progress")
    .action(async (storeDir: string, o) => {
      const r = await runAttack({ ...o, store: storeDir });
      process.stdout.write(`${r.lines.join("\n")}\n`);
    });
}
