/**
 * The client's privacy audit of an encrypted store, before sending it out: run the ciphertext-only attack with
 * public reference photos, decrypt a sample with the estimate, and measure what leaks (PSNR, SSIM,
 * re-identification, recognisability, the no-attack leak); then a plain-language verdict.
 *
 * The audit needs the plaintexts of the audited images to score the leak. The client owns the key, so the audit
 * takes the key file and decrypts locally, for measurement only: the key never reaches the attack, is never written,
 * printed or sent (only its fingerprint appears).
 *
 * Keys with block scrambling (cipher/scramble.ts): the eavesdropper first reassembles the block grid from the
 * ciphertexts alone (jigsaw.ts), then runs the same attack on the reassembled ciphertexts; the audit measures that
 * chain and reports how well the jigsaw did.
 *
 * Layering: src/audit/ sits above data, models, train and report, below cli.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AttackStoreOptions,
  attackStore,
  type ChannelReport,
  JIGSAW,
  JigsawTooLarge,
  orientLike,
  solveBlockJigsaw,
} from "../attack/index.ts";
import {
  blockPermutation,
  type CipherKey,
  inversePermutation,
  permuteBlocks,
  shortFingerprint,
} from "../cipher/index.ts";
import { DataError, encryptDataset, isStore, readImageFolder, Store } from "../data/index.ts";
import { storeLabels } from "../train/labels.ts";
import {
  type AttackMeasures,
  measureAttack,
  measurePlan,
  readSample,
  type StoreSample,
  spreadPositions,
} from "./measure.ts";
import { type LabelledImages, type Recognisability, recognisability } from "./recognisability.ts";

/** Every default of the audit in one place, with units. */
export const AUDIT_DEFAULTS = {
  /** Images of each store whose statistics the attack uses. */
  statsImages: 20000,
  /** Plaintexts in the re-identification pool (the measured images are among them). */
  pool: 1000,
  /** Images decrypted and measured. */
  measured: 200,
  /** Ciphertexts whose block statistics the jigsaw reads (a scrambling key), spread over the store. */
  jigsawImages: JIGSAW.images,
  /** Labelled plain images the recognisability classifier trains on. */
  recogniserImages: 3000,
  /** Rows in the pictures. */
  pictureRows: 10,
} as const;

export interface AuditOptions {
  store: string;
  /** Plain reference photos: a plain store, or a folder of images (read at the store's image size). */
  reference: string;
  /** The client's key (measurement only). */
  key: CipherKey;
  statsImages?: number;
  pool?: number;
  measured?: number;
  jigsawImages?: number;
  recogniserImages?: number;
  /** Recognisability classifier epochs (default RECOGNISER.epochs); 0 skips recognisability. */
  recogniserEpochs?: number;
  /** The attack's search settings (attackStore; default: ATTACK_DEFAULTS for the store's block size). */
  attack?: Omit<AttackStoreOptions, "limit" | "transform" | "onProgress">;
  onProgress?: (what: string, done: number, total: number) => void;
}

export interface AuditVerdict {
  /** "exposed": the attack recovers recognisable images; "not shown safe": it failed but cannot be trusted to have
   * failed; "resisted this attack": it failed reliably (not a proof of security). */
  level: "exposed" | "not shown safe" | "resisted this attack";
  headline: string;
  lines: string[];
}

/** How the eavesdropper's jigsaw did against a scrambling key (measured with the key's true permutation). */
export interface ScrambleFinding {
  /** Ciphertexts whose statistics the jigsaw used (spread over the store; AUDIT_DEFAULTS.jigsawImages at most). */
  images: number;
  /** Share of the grid assembled into one piece. */
  assembled: number;
  /** Share of block positions placed right, up to the grid symmetry a glance resolves (mirror, rotation). */
  correct: number;
  /** Which of the grid's symmetries that was (0 = none needed). */
  symmetry: number;
  seconds: number;
  /** Why the jigsaw was not run (the grid is too large for it), if it was not; the attack then ran as is. */
  skipped?: string;
}

export interface AuditResult {
  store: string;
  reference: string;
  referenceKind: "store" | "folder";
  keyFingerprint: string;
  blockSize: number;
  shape: [number, number, number];
  storeImages: number;
  statsImages: { cipher: number; reference: number };
  attackSeconds: number;
  /** Whether the attack matched the energy-weighted relations too (fourth order), not only second-order ones. */
  energyRelations: boolean;
  channels: ChannelReport[];
  reliable: boolean;
  measures: AttackMeasures;
  recognisability: (Recognisability & { trainedOn: string }) | null;
  /** Keys with block scrambling: the jigsaw's result (the measures are of the attack on its reassembly). */
  scramble: ScrambleFinding | null;
  verdict: AuditVerdict;
  seconds: number;
  /** Kept for the page's pictures (not serialised); for a scrambling key, with the jigsaw's reassembled ciphertexts. */
  sample: StoreSample;
}

/** Thresholds of the verdict (documented in docs/audit.md). */
export const VERDICT = {
  /** PSNR at or above which decryptions are close copies (dB). */
  psnrDb: 25,
  /** SSIM at or above which structure is plainly visible. */
  ssim: 0.5,
  /** Re-identification rate at or above which the attack tells your images apart. */
  reid: 0.5,
  /** Recognisability ratio at or above which a classifier sees what it sees in the plaintexts. */
  recognisability: 0.5,
  /** Block-activity correlation at or above which the ciphertext alone shows outlines. */
  edgeCorrelation: 0.5,
} as const;

export async function runAudit(o: AuditOptions): Promise<AuditResult> {
  const t0 = performance.now();
  const store = Store.open(o.store);
  if (!store.meta.key) throw new DataError(`store ${o.store} is not encrypted: nothing to audit`, "NOT_ENCRYPTED");
  store.checkKey(o.key);
  const { reference, kind, cleanup } = await openReference(o.reference, store, o.onProgress);
  try {
    const statsN = o.statsImages ?? AUDIT_DEFAULTS.statsImages;
    const plan = measurePlan(store.count, o.pool ?? AUDIT_DEFAULTS.pool, o.measured ?? AUDIT_DEFAULTS.measured);
    const step = stepper(o.onProgress);
    const read = step("reading the measured images", () => readSample(store, plan.pool, o.key));
    const jigsawN = o.jigsawImages ?? AUDIT_DEFAULTS.jigsawImages;
    const jig = o.key.scramble ? step("jigsaw (block positions)", () => jigsaw(store, jigsawN, read, o.key)) : null;
    const sample = jig?.sample ?? read;
    const t1 = performance.now();
    const attack = attackStore(store, reference, {
      ...o.attack,
      limit: statsN,
      transform: jig?.unscramble ? unscrambler(store, jig.unscramble) : undefined,
      onProgress: o.onProgress,
    });
    const attackSeconds = (performance.now() - t1) / 1000;
    const measures = step("measuring", () => measureAttack(sample, plan.measured, attack.inverse, o.key));
    const recog =
      (o.recogniserEpochs ?? 1) > 0 ? recognise(reference, store, sample, plan.measured, measures, o) : null;
    const [c, h, w] = store.shape;
    const result: Omit<AuditResult, "verdict"> = {
      store: o.store,
      reference: o.reference,
      referenceKind: kind,
      keyFingerprint: shortFingerprint(o.key),
      blockSize: store.meta.key.blockSize,
      shape: [c, h, w],
      storeImages: store.count,
      statsImages: attack.images,
      attackSeconds,
      energyRelations: attack.energy,
      channels: attack.channelReports,
      reliable: attack.reliable,
      measures,
      recognisability: recog,
      scramble: jig?.finding ?? null,
      seconds: 0,
      sample,
    };
    return { ...result, verdict: auditVerdict(result), seconds: (performance.now() - t0) / 1000 };
  } finally {
    cleanup();
  }
}

/** Runs one step of the audit between a 0-of-1 and a 1-of-1 progress report. */
function stepper(onProgress: AuditOptions["onProgress"]) {
  return <T>(what: string, run: () => T): T => {
    onProgress?.(what, 0, 1);
    const out = run();
    onProgress?.(what, 1, 1);
    return out;
  };
}

/**
 * The jigsaw for a scrambling key, solved from the statistics of `images` ciphertexts spread over the store (more
 * than the measured sample: at 64×64 / k = 8 the grid needs thousands): its finding, the measured sample reassembled
 * and the un-scrambling permutation; or, when the grid is too large for it, a finding that says so (the attack then
 * runs on the scrambled ciphertexts as they are).
 */
function jigsaw(
  store: Store,
  images: number,
  read: StoreSample,
  key: CipherKey,
): { finding: ScrambleFinding; sample?: StoreSample; unscramble?: Int32Array } {
  const positions = spreadPositions(store.count, images);
  try {
    return reassemble(store.readPositions(positions), positions.length, read, key);
  } catch (e) {
    if (!(e instanceof JigsawTooLarge)) throw e;
    return {
      finding: { images: positions.length, assembled: 0, correct: 0, symmetry: 0, seconds: 0, skipped: e.message },
    };
  }
}

/** A store's statistics pass with the jigsaw's block order undone (CHW batches). */
function unscrambler(store: Store, unscramble: Int32Array) {
  const [c, h, w] = store.shape;
  const k = store.meta.key!.blockSize;
  return (x: Float32Array, n: number) =>
    permuteBlocks(x, new Float32Array(x.length), { n, c, h, w, k, layout: "CHW" }, unscramble);
}

/** The recognisability of the attack's decryptions, or null when no labelled images can train the classifier. */
function recognise(
  reference: Store,
  store: Store,
  sample: StoreSample,
  measured: number[],
  measures: AttackMeasures,
  o: AuditOptions,
): AuditResult["recognisability"] {
  const train = recogniserTraining(reference, store, sample, measured, o);
  if (!train) return null;
  const [c, h, w] = store.shape;
  const per = c * h * w;
  const plain = new Float32Array(measured.length * per);
  const labels = new Int32Array(measured.length);
  for (const [i, q] of measured.entries()) {
    plain.set(sample.plain.subarray(q * per, (q + 1) * per), i * per);
    labels[i] = sample.labels[q];
  }
  const r = recognisability(train.images, plain, measures.decrypted, labels, {
    epochs: o.recogniserEpochs,
    onProgress: (d, t) => o.onProgress?.("recognisability classifier", d, t),
  });
  return { ...r, trainedOn: train.description };
}

/**
 * The eavesdropper's jigsaw on `cipher` (`n` ciphertexts, no key), oriented with the key's true permutation (for
 * measurement only: one of the grid's symmetries, which a person picks at a glance), and the sample reassembled.
 */
function reassemble(
  cipher: Float32Array,
  n: number,
  read: StoreSample,
  key: CipherKey,
): { finding: ScrambleFinding; sample: StoreSample; unscramble: Int32Array } {
  const { c, h, w } = read.dims;
  const k = key.blockSize;
  const grid = { gh: h / k, gw: w / k };
  const solved = solveBlockJigsaw(cipher, { n, c, h, w }, k);
  const truth = blockPermutation(key.scramble as NonNullable<CipherKey["scramble"]>, grid.gh, grid.gw);
  const oriented = orientLike(solved.permutation, truth, grid);
  const unscramble = inversePermutation(oriented.permutation);
  const reassembled = permuteBlocks(
    read.cipher,
    new Float32Array(read.cipher.length),
    { n: read.dims.n, c, h, w, k, layout: "CHW" },
    unscramble,
  );
  return {
    finding: {
      images: solved.images,
      assembled: solved.assembled,
      correct: oriented.correct,
      symmetry: oriented.symmetry,
      seconds: solved.seconds,
    },
    sample: { ...read, cipher: reassembled },
    unscramble,
  };
}

/**
 * The reference as a plain store: a store is used as it is; a folder of images is read (resized to the store's
 * side, centre-cropped) into a temporary plain store that is removed afterwards.
 */
async function openReference(
  path: string,
  store: Store,
  onProgress?: AuditOptions["onProgress"],
): Promise<{ reference: Store; kind: "store" | "folder"; cleanup: () => void }> {
  if (!existsSync(path)) throw new DataError(`reference ${path} does not exist`, "NOT_FOUND");
  if (isStore(path)) {
    const reference = Store.open(path);
    if (reference.meta.key) throw new DataError(`reference store ${path} is encrypted; give plain images`, "NOT_PLAIN");
    if (reference.shape[0] !== store.shape[0])
      throw new DataError(
        `reference store ${path} has ${reference.shape[0]} channels, ${store.dir} has ${store.shape[0]}`,
        "SHAPE",
      );
    return { reference, kind: "store", cleanup: () => {} };
  }
  if (!statSync(path).isDirectory())
    throw new DataError(`reference ${path} is neither a store nor a folder of images`, "BAD_INPUT");
  const [, h, w] = store.shape;
  if (h !== w) throw new DataError(`a folder reference needs square store images; ${store.dir} is ${h}×${w}`, "SHAPE");
  const dir = mkdtempSync(join(tmpdir(), "ercnn-audit-ref-"));
  const out = join(dir, "store");
  try {
    await encryptDataset({
      source: readImageFolder(path),
      out,
      key: null,
      decode: { resize: h, crop: h },
      skipBad: true,
      onProgress: (d, t) => onProgress?.("reading reference photos", d, t),
    });
    const reference = Store.open(out);
    if (reference.shape[0] !== store.shape[0])
      throw new DataError(
        `reference photos in ${path} have ${reference.shape[0]} channels, ${store.dir} has ${store.shape[0]}`,
        "SHAPE",
      );
    return { reference, kind: "folder", cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The recognisability classifier's training images: the reference's, when its class names cover the store's
 * (labels mapped by name); otherwise the audited store's own plaintexts outside the measured images (the client
 * holds them). Null when neither has two classes.
 */
function recogniserTraining(
  reference: Store,
  store: Store,
  sample: StoreSample,
  measured: number[],
  o: AuditOptions,
): { images: LabelledImages; description: string } | null {
  const cap = o.recogniserImages ?? AUDIT_DEFAULTS.recogniserImages;
  const [c, h, w] = store.shape;
  const per = c * h * w;
  const names = store.meta.classes;
  const refNames = reference.meta.classes;
  const covers =
    reference.shape[1] === h &&
    reference.shape[2] === w &&
    names.every((n) => refNames.includes(n)) &&
    names.length > 1;
  if (covers) {
    const labels = storeLabels(reference);
    const wanted = new Set(names);
    const positions = Array.from(labels.keys()).filter((p) => wanted.has(refNames[labels[p]]));
    const take = positions.filter((_, i) => i % Math.max(1, Math.floor(positions.length / cap)) === 0).slice(0, cap);
    const x = reference.readPositions(take);
    return {
      images: { x, labels: Int32Array.from(take, (p) => names.indexOf(refNames[labels[p]])), dims: { c, h, w } },
      description: `${take.length} plain reference images of the store's ${names.length} classes`,
    };
  }
  // the store's own plaintexts: the pool images that are not measured
  const skip = new Set(measured);
  const idx = Array.from(sample.labels.keys())
    .filter((q) => !skip.has(q))
    .slice(0, cap);
  const classes = new Set(idx.map((q) => sample.labels[q]));
  if (classes.size < 2) return null;
  const x = new Float32Array(idx.length * per);
  for (const [i, q] of idx.entries()) x.set(sample.plain.subarray(q * per, (q + 1) * per), i * per);
  return {
    images: { x, labels: Int32Array.from(idx, (q) => sample.labels[q]), dims: { c, h, w } },
    description:
      `${idx.length} of the store's own plaintexts (not the measured ones; the reference's classes do not cover ` +
      "the store's)",
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The verdict: exposed if any measure passes its threshold; never "safe" when the attack itself is unreliable. */
export function auditVerdict(r: Omit<AuditResult, "verdict">): AuditVerdict {
  const m = r.measures;
  const lines: string[] = [];
  const exposedBy: string[] = [];
  if (m.psnr >= VERDICT.psnrDb) exposedBy.push(`decryptions are close copies (PSNR ${m.psnr.toFixed(1)} dB)`);
  if (m.ssim >= VERDICT.ssim) exposedBy.push(`their structure is visible (SSIM ${m.ssim.toFixed(2)})`);
  if (m.reid.rate >= VERDICT.reid)
    exposedBy.push(`${pct(m.reid.rate)} of the decryptions pick out their own image among ${m.reid.pool}`);
  const rg = r.recognisability;
  if (rg && rg.ratio >= VERDICT.recognisability)
    exposedBy.push(
      `a classifier recognises ${pct(rg.decryptedAccuracy)} of the decryptions (${pct(rg.plainAccuracy)} of the plaintexts)`,
    );
  const sc = r.scramble;
  if (sc?.skipped)
    lines.push(
      "Block scrambling: this key also permutes the block positions, the same way in every image. The " +
        `eavesdropper's jigsaw was NOT run (${sc.skipped}); the attack below ran on the scrambled ciphertexts as ` +
        "they are, so it understates what an eavesdropper who reassembles the grid first would get.",
    );
  else if (sc)
    lines.push(
      `Block scrambling: this key also permutes the block positions, the same way in every image. The eavesdropper's ` +
        `jigsaw (statistics of ${sc.images} ciphertexts, no key, ${sc.seconds.toFixed(0)} s) put ${pct(sc.correct)} of ` +
        `the positions back${sc.symmetry ? " (up to a mirror or rotation, which one look at a picture resolves)" : ""}; ` +
        "the attack and the no-attack measures below use its reassembly.",
    );
  lines.push(
    `Attack: ciphertext-only, with ${r.energyRelations ? "second- and fourth-order (energy-weighted) " : ""}statistics ` +
      `of public photos; ${r.attackSeconds.toFixed(0)} s; ` +
      (r.reliable
        ? "reliable in every channel (mismatch within the reference's noise floor, each fit reached twice independently)."
        : "UNRELIABLE in some channel (see below)."),
  );
  for (const [ch, c] of r.channels.entries()) if (!c.reliable) lines.push(`  channel ${ch}: ${c.problems.join("; ")}`);
  lines.push(
    `Decryptions of ${m.images} images: PSNR ${m.psnr.toFixed(1)} dB, SSIM ${m.ssim.toFixed(3)}; ` +
      `re-identified ${pct(m.reid.rate)} among ${m.reid.pool} (chance ${pct(m.reid.chance)}).`,
  );
  if (rg)
    lines.push(
      `Recognisability: a classifier trained on ${rg.trainedOn} is right on ${pct(rg.decryptedAccuracy)} of the ` +
        `decryptions vs ${pct(rg.plainAccuracy)} of the plaintexts (chance ${pct(rg.chance)}).`,
    );
  const lk = m.leak;
  lines.push(
    `Without any attack: ${pct(lk.flatBlocks)} of the blocks are flat (${pct(lk.repeatedCipherBlocks)} of the ` +
      `ciphertext blocks repeat a neighbour), and the ciphertext's block-activity map correlates ` +
      `${lk.edgeCorrelation.toFixed(2)} with the image's (${aGrid(lk.grid)} outline sketch` +
      `${lk.edgeCorrelation >= VERDICT.edgeCorrelation ? " anyone can see" : ""}).`,
  );
  if (exposedBy.length)
    return {
      level: "exposed",
      headline: `EXPOSED: an eavesdropper with ordinary photos recovers your images: ${exposedBy.join("; ")}.`,
      lines,
    };
  if (sc && sc.correct < 1)
    return {
      level: "not shown safe",
      headline:
        `NOT SHOWN SAFE: ${sc.skipped ? "the jigsaw was not run" : `the jigsaw placed only ${pct(sc.correct)} of the block positions`}, so the attack did not ` +
        "recover your images here; but each block's contents (colours, textures) stay exposed to the attack, and a " +
        "better jigsaw (more ciphertexts, a smarter solver) may reassemble the grid. Scrambling is not a proof of security.",
      lines,
    };
  if (!r.reliable)
    return {
      level: "not shown safe",
      headline:
        "NOT SHOWN SAFE: this attack did not recover your images, but it did not converge reliably; a longer or " +
        "stronger attack may (rerun with more --restarts/--iterations).",
      lines,
    };
  return {
    level: "resisted this attack",
    headline:
      "RESISTED THIS ATTACK: the decryptions are not recognisable. This is not a proof of security: other " +
      "attacks, and the no-attack leak below, remain.",
    lines,
  };
}

/** "a 4×4", "an 8×8": the block grid with its article, as the number is read aloud (an 11, an 18, an 80; a 110). */
export function aGrid(grid: { h: number; w: number }): string {
  return `${/^(8|1[18]$)/.test(String(grid.h)) ? "an" : "a"} ${grid.h}×${grid.w}`;
}
