import { existsSync } from "node:fs";
import { Command } from "commander";
import {
  type AttackDefaults,
  type AttackStoreOptions,
  attackDefaultsHelp,
  attackDefaultsTable,
  attackStore,
  type ChannelReport,
  openReference,
  recoverKey,
  syntheticLines,
} from "../../attack/index.ts";
import {
  attackSignedPermutationStore,
  noAttackMessage,
  SCHEME_ATTACKS,
  signedPermutationAgreement,
  storeScheme,
} from "../../attack/scheme-attacks.ts";
import {
  type AttackMeasures,
  measureAttack,
  measurePlan,
  readSample,
  spreadPositions,
  writeAttackPicture,
} from "../../audit/measure.ts";
import { type CipherKey, makeKey, shortFingerprint } from "../../cipher/index.ts";
import { invert } from "../../core/linalg.ts";
import { Store } from "../../data/index.ts";
import { loadKey, saveKey } from "../../data/keyfile.ts";
import { loadSchemeKey } from "../../data/scheme-keyfile.ts";
import { nonNegativeInteger, positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";

/** The attack's search flags, shared by `ercnn attack` and `ercnn audit`; each default is ATTACK_DEFAULTS' row. */
export interface AttackSearchFlags {
  restarts?: number;
  iterations?: number;
  retries?: number;
  seed?: number;
  energy?: boolean;
  joint?: boolean;
  refine?: boolean;
}

/** The search's flags on a command, their help rendered from ATTACK_DEFAULTS (`what` prefixes each description). */
export function attackSearchOptions(cmd: Command, what = ""): Command {
  const d = (key: keyof AttackDefaults) => `(default ${attackDefaultsHelp(key)})`;
  return cmd
    .option("--restarts <n>", `${what}random starts per channel ${d("restarts")}`, positiveInteger)
    .option("--iterations <n>", `${what}objective evaluations per start ${d("iterations")}`, positiveInteger)
    .option("--retries <n>", `${what}rounds of fresh starts for a failing channel ${d("retries")}`, nonNegativeInteger)
    .option("--seed <n>", `${what}seed of the random starts (default 1)`, positiveInteger)
    .option("--energy", `${what}also match energy-weighted (fourth-order) relations ${d("energy")}`)
    .option("--no-energy", `${what}second-order relations only`)
    .option("--joint", `${what}starts from joint diagonalisers of all relations ${d("joint")}`)
    .option("--no-joint", `${what}eigenvector starts`)
    .option("--refine", `${what}pair start eigenvectors by their signatures ${d("refine")}`)
    .option("--no-refine", `${what}pair start eigenvectors in eigenvalue order`)
    .addHelpText("after", `\n${attackDefaultsTable()}`);
}

/** The search settings from the flags (undefined: ATTACK_DEFAULTS). */
export function attackTuning(o: AttackSearchFlags): Omit<AttackStoreOptions, "limit" | "transform" | "onProgress"> {
  const { restarts, iterations, retries, seed, energy, joint, refine } = o;
  return { restarts, iterations, retries, seed, energy, joint, refine };
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

/** One line per channel: mismatch against the noise floor, how it was solved, and whether it can be trusted. */
export function channelLines(reports: ChannelReport[]): string[] {
  return reports.map((c, ch) => {
    const by =
      typeof c.solvedBy === "string"
        ? c.solvedBy
        : `from channel ${c.solvedBy.fromChannel} (${c.solvedBy.how === "tie" ? "tied channels" : "cross-channel statistics"})`;
    const floor = c.noiseFloor === null ? "" : ` (noise floor ${c.noiseFloor.toExponential(2)})`;
    return (
      `  channel ${ch}: statistics mismatch ${c.loss.toExponential(2)} (share ${c.relativeLoss.toExponential(2)}; ` +
      `second order ${c.secondOrderMismatch.toExponential(2)}${floor}), ` +
      `solved by ${by}, ${c.confirmations} of ${c.starts} starts` +
      (c.agreeingChannels ? ` and ${c.agreeingChannels} other channel${c.agreeingChannels > 1 ? "s" : ""}` : "") +
      " agree" +
      (c.reliable ? "" : `; UNRELIABLE: ${c.problems.join("; ")}`)
    );
  });
}

export interface AttackOptions extends AttackSearchFlags {
  store: string;
  /** Plain reference store (the ciphertext-only attack). */
  reference?: string;
  /** Plain store holding the plaintexts of the encrypted store's images, in the same order (known plaintext). */
  knownPlaintext?: string;
  /** Known plaintext/ciphertext pairs used (default KNOWN_PAIRS). */
  pairs?: number;
  out?: string;
  evalKey?: string;
  picture?: string;
  limit?: number;
  pool?: number;
  measured?: number;
  quiet?: boolean;
}

/** Known plaintext/ciphertext image pairs `--known-plaintext` uses unless told (one image already determines k ≤ 8). */
export const KNOWN_PAIRS = 4;

/** What an attack gives the report: the estimate and the lines describing how it was found. */
interface Estimate {
  blockSize: number;
  channels: number;
  key: Float64Array;
  inverse: Float64Array;
  reliable: boolean;
  lines: string[];
}

/** Runs the attack; returns the report lines, the measures (with evalKey) and the time taken. */
export async function runAttack(
  o: AttackOptions,
): Promise<{ lines: string[]; psnr?: number; measures?: AttackMeasures; reliable: boolean; seconds: number }> {
  if (o.picture && !o.evalKey) throw new Error("--picture needs --eval-key (the plaintext column)");
  if (!o.reference === !o.knownPlaintext)
    throw new Error("give either --reference (ciphertext-only attack) or --known-plaintext (known-plaintext attack)");
  if (o.out && existsSync(o.out)) throw new Error(`${o.out} already exists; refusing to overwrite a key file`);
  const store = Store.open(o.store);
  const scheme = store.meta.key ? storeScheme(store.meta.key) : "hill";
  const which = SCHEME_ATTACKS[scheme];
  if (which === null) throw new Error(noAttackMessage(scheme));
  if (which === "signed-permutation") return signedPermutationRun(store, o);
  const evalKey = o.evalKey ? await loadKey(o.evalKey) : null;
  if (evalKey) store.checkKey(evalKey);
  const t0 = performance.now();
  const est = o.knownPlaintext ? knownPlaintextEstimate(store, o) : ciphertextOnlyEstimate(store, o);
  const seconds = (performance.now() - t0) / 1000;
  const lines = est.lines.map((l) => l.replace("{seconds}", seconds.toFixed(1)));
  if (o.out) lines.push(await writeEstimate(o.out, est));
  const measures = evalKey ? await measure(store, est, evalKey, o, lines) : undefined;
  return { lines, psnr: measures?.psnr, measures, reliable: est.reliable, seconds };
}

/** The solver restricted to signed permutations (pixel-shuffle-np stores), measured against --eval-key if given. */
async function signedPermutationRun(
  store: Store,
  o: AttackOptions,
): Promise<{ lines: string[]; reliable: boolean; seconds: number }> {
  if (!o.reference) throw new Error("the signed-permutation attack is ciphertext-only: give --reference");
  if (o.out || o.picture) throw new Error("--out and --picture apply to Hill-cipher stores only");
  const t0 = performance.now();
  const r = attackSignedPermutationStore(store, Store.open(o.reference), { limit: o.limit });
  const seconds = (performance.now() - t0) / 1000;
  const d = r.perm.length;
  const lines = [
    `signed-permutation attack on ${o.store} (scheme pixel-shuffle-np, k=${r.blockSize}) in ${seconds.toFixed(1)} s ` +
      `from ${r.images.cipher} ciphertexts and ${r.images.reference} reference images (${r.swaps} refining swaps)`,
  ];
  if (o.evalKey) {
    const right = signedPermutationAgreement(r, await loadSchemeKey(o.evalKey));
    lines.push(`measured with the true key: ${right} of ${d} block coordinates recovered (position and sign)`);
  }
  return { lines, reliable: true, seconds };
}

/** The ciphertext-only attack (attackStore, the pipeline every caller shares). */
function ciphertextOnlyEstimate(store: Store, o: AttackOptions): Estimate {
  const progress = progressReporter(o.quiet, createProgress);
  const r = attackStore(store, openReference(o.reference!), {
    ...attackTuning(o),
    limit: o.limit,
    onProgress: progress.update,
  });
  progress.stop();
  const lines = [
    `ciphertext-only attack on ${o.store} (k=${r.blockSize}) in {seconds} s; statistics mismatch per channel: ` +
      r.loss.map((v) => v.toExponential(2)).join(", "),
    ...syntheticLines(r.synthetic),
    ...channelLines(r.channelReports),
    r.reliable
      ? "estimate: reliable in every channel"
      : "estimate: UNRELIABLE (see the channels above): a failed attack here does not mean the images are safe",
  ];
  return { ...r, lines };
}

/**
 * The known-plaintext attack: the plaintexts of the first `pairs` images of the encrypted store (a plain store of the
 * same images in the same order, e.g. `ercnn encrypt SRC --plain` next to `ercnn encrypt SRC -k KEY`), the key by
 * least squares over all their blocks (known-plaintext.ts).
 */
function knownPlaintextEstimate(store: Store, o: AttackOptions): Estimate {
  const plain = Store.open(o.knownPlaintext!);
  const key = store.meta.key;
  if (!key) throw new Error(`store ${o.store} is not encrypted: nothing to attack`);
  if (plain.meta.key) throw new Error(`--known-plaintext ${o.knownPlaintext} is encrypted; give the plain images`);
  if (plain.shape.join("x") !== store.shape.join("x") || plain.count !== store.count)
    throw new Error(
      `--known-plaintext ${o.knownPlaintext} holds ${plain.count} images of ${plain.shape.join("×")}; ` +
        `${o.store} holds ${store.count} of ${store.shape.join("×")}: they must be the same images in the same order`,
    );
  const pairs = Math.min(o.pairs ?? KNOWN_PAIRS, store.count);
  const positions = spreadPositions(store.count, pairs);
  const [c, h, w] = store.shape;
  const dims = { n: pairs, c, h, w, layout: "CHW" as const };
  const r = recoverKey(plain.readPositions(positions), store.readPositions(positions), dims, key.blockSize);
  const n = key.blockSize ** 2;
  const inverse = new Float64Array(r.values.length);
  for (let ch = 0; ch < c; ch++) {
    const inv = invert(r.values.subarray(ch * n * n, (ch + 1) * n * n), n);
    if (!inv) throw new Error(`known-plaintext attack: channel ${ch}'s estimate is singular`);
    inverse.set(inv, ch * n * n);
  }
  const lines = [
    `known-plaintext attack on ${o.store} (k=${key.blockSize}) in {seconds} s from ${pairs} plaintext/ciphertext ` +
      `pair${pairs === 1 ? "" : "s"} (${r.blocksUsed} blocks per channel, ${n} unknowns per key column)`,
    ...r.residual.map(
      (res, ch) =>
        `  channel ${ch}: rank ${r.rank[ch]} of ${n}, relative residual ${res.toExponential(2)}, ` +
        `condition estimate ${r.conditionEstimate[ch].toExponential(2)}`,
    ),
    "estimate: determined in every channel (full rank)",
  ];
  return { blockSize: key.blockSize, channels: c, key: r.values, inverse, reliable: true, lines };
}

/** Writes the estimate as a key file (mode 0600); the line saying so. */
async function writeEstimate(out: string, est: Estimate): Promise<string> {
  const estimate = await makeKey({
    mode: "uniform",
    blockSize: est.blockSize,
    channels: est.channels,
    values: est.key,
    source: "attack estimate",
  });
  await saveKey(out, estimate);
  return `estimated key written to ${out} (fingerprint ${shortFingerprint(estimate)}, mode 0600)`;
}

/** The measures with the true key (PSNR, SSIM, re-identification, the no-attack leak), appended to `lines`. */
async function measure(
  store: Store,
  est: Estimate,
  evalKey: CipherKey,
  o: AttackOptions,
  lines: string[],
): Promise<AttackMeasures> {
  const plan = measurePlan(store.count, o.pool ?? 1000, o.measured ?? 200);
  const sample = readSample(store, plan.pool, evalKey);
  const m = measureAttack(sample, plan.measured, est.inverse, evalKey);
  const n2 = est.blockSize ** 2;
  lines.push(
    `measured with the true key: decryption PSNR ${m.psnr.toFixed(2)} dB on ${m.images} images; ` +
      `K⁻¹ relative error ${m.keyInverseError.toFixed(3)} (${est.channels}×${n2}×${n2})`,
    `  SSIM ${m.ssim.toFixed(3)}; re-identified ${(100 * m.reid.rate).toFixed(1)}% among ${m.reid.pool} plaintexts ` +
      `(chance ${(100 * m.reid.chance).toFixed(2)}%)`,
    `  no attack: ${(100 * m.leak.flatBlocks).toFixed(1)}% flat blocks, ciphertext block activity vs plaintext ` +
      `correlation ${m.leak.edgeCorrelation.toFixed(3)}`,
  );
  if (o.picture) {
    const count = Math.min(8, m.images);
    const rows = Array.from({ length: count }, (_, i) => Math.floor((i * m.images) / count));
    await writeAttackPicture(o.picture, sample, m, rows);
    lines.push(`picture written to ${o.picture}`);
  }
  return m;
}

/** The eavesdropper's attacks: the key from ciphertext statistics and public plain images, or from known pairs. */
export function attackCommand(): Command {
  const cmd = new Command("attack")
    .description(
      "estimate an encrypted store's key: ciphertext-only (--reference: its block statistics against those of plain " +
        "photos; no plaintext of the encrypted images needed) or known-plaintext (--known-plaintext: a few of its " +
        "images in the clear)",
    )
    .argument("<store>", "encrypted store (ercnn encrypt output)")
    .option(
      "--reference <store>",
      "store of PLAIN images with natural-image statistics (other classes/photos), or 'synthetic': seeded " +
        "dead-leaves images fitted to the ciphertexts (no outside data)",
    )
    .option(
      "--known-plaintext <store>",
      "plain store of the SAME images in the same order (ercnn encrypt SRC --plain): known pairs → the key",
    )
    .option("--pairs <n>", `with --known-plaintext: image pairs used (default ${KNOWN_PAIRS})`, positiveInteger)
    .option("-o, --out <file>", "write the estimated key here (a key file, mode 0600: it decrypts the store)")
    .option("--eval-key <file>", "the true key, used ONLY to measure the attack (PSNR, SSIM, re-identification)")
    .option("--picture <file>", "PNG: ciphertext | attack decryption | plaintext (with --eval-key)")
    .option("--limit <n>", "images used from each store (default: all)", positiveInteger)
    .option("--pool <n>", "with --eval-key: plaintexts in the re-identification pool (default 1000)", positiveInteger)
    .option("--measured <n>", "with --eval-key: images decrypted and measured (default 200)", positiveInteger);
  return attackSearchOptions(cmd)
    .option("-q, --quiet", "no progress")
    .action(async (storeDir: string, o) => {
      const r = await runAttack({ ...o, store: storeDir });
      process.stdout.write(`${r.lines.join("\n")}\n`);
    });
}
