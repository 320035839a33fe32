import { Command } from "commander";
import {
  attackSignedPermutationStore,
  noAttackMessage,
  SCHEME_ATTACKS,
  signedPermutationAgreement,
  storeScheme,
} from "../../attack/scheme-attacks.ts";
import { AUDIT_DEFAULTS, runAudit } from "../../audit/audit.ts";
import { verdictText, writeAuditPage } from "../../audit/report.ts";
import { isHillKey, type SchemeKey } from "../../cipher/schemes/index.ts";
import { writeFileAtomic } from "../../core/atomic.ts";
import { isStore, Store } from "../../data/index.ts";
import { loadSchemeKey } from "../../data/scheme-keyfile.ts";
import { nonNegativeInteger, positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";
import { type AttackSearchFlags, attackSearchOptions, attackTuning, progressReporter } from "./attack.ts";

export interface AuditCliOptions extends AttackSearchFlags {
  reference: string;
  key: string;
  out?: string;
  json?: string;
  statsImages?: number;
  pool?: number;
  measured?: number;
  jigsawImages?: number;
  recogniserImages?: number;
  recogniserEpochs?: number;
  quiet?: boolean;
}

/** Runs the audit, prints the verdict, writes the page; returns the verdict text. */
export async function auditCli(storeDir: string, o: AuditCliOptions): Promise<string> {
  const key = await loadSchemeKey(o.key);
  if (!isHillKey(key)) return schemeAudit(storeDir, key, o);
  const progress = progressReporter(o.quiet, createProgress);
  const r = await runAudit({
    store: storeDir,
    reference: o.reference,
    key,
    statsImages: o.statsImages,
    pool: o.pool,
    measured: o.measured,
    jigsawImages: o.jigsawImages,
    recogniserImages: o.recogniserImages,
    recogniserEpochs: o.recogniserEpochs,
    attack: attackTuning(o),
    onProgress: progress.update,
  });
  progress.stop();
  let text = verdictText(r);
  if (o.out) {
    await writeAuditPage(r, o.out);
    text += `\naudit page written to ${o.out}`;
  }
  if (o.json) {
    const { sample: _s, measures, ...rest } = r;
    const { decrypted: _d, measured: _m, reid, ...m } = measures;
    const { matched: _x, ...reidOut } = reid;
    const inf = (_k: string, v: unknown) => (v === Number.POSITIVE_INFINITY ? "Infinity" : v);
    await writeFileAtomic(o.json, `${JSON.stringify({ ...rest, measures: { ...m, reid: reidOut } }, inf, 2)}\n`);
    text += `\nnumbers written to ${o.json}`;
  }
  return text;
}

/**
 * The audit of a store of a seeded scheme: the attack SCHEME_ATTACKS lists for it (the signed-permutation solver,
 * scored by the block coordinates it recovers), or the plain statement that no attack of ercnn applies.
 */
async function schemeAudit(storeDir: string, key: SchemeKey, o: AuditCliOptions): Promise<string> {
  const store = Store.open(storeDir);
  store.checkKey(key);
  const scheme = storeScheme(store.meta.key!);
  const which = SCHEME_ATTACKS[scheme];
  if (which === null) return noAttackMessage(scheme);
  if (!isStore(o.reference))
    throw new Error(`the ${which} attack needs --reference as a plain store (ercnn encrypt PHOTOS --plain)`);
  const t0 = performance.now();
  const r = attackSignedPermutationStore(store, Store.open(o.reference), {
    limit: o.statsImages ?? AUDIT_DEFAULTS.statsImages,
  });
  const right = signedPermutationAgreement(r, key);
  const d = r.perm.length;
  const verdict = right === d ? "BROKEN: the whole key was recovered from ciphertexts alone" : "partly recovered";
  return (
    `audit of ${storeDir} (scheme ${scheme}, k=${r.blockSize}): the signed-permutation attack recovered ${right} of ` +
    `${d} block coordinates (position and sign) from ${r.images.cipher} ciphertexts and ${r.images.reference} ` +
    `reference images in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${verdict}`
  );
}

/** `ercnn audit`: the client's privacy check of an encrypted store before sending it out. */
export function auditCommand(): Command {
  const cmd = new Command("audit")
    .description(
      "privacy audit of an encrypted store: run the ciphertext-only attack with public photos, measure what it " +
        "recovers (PSNR, SSIM, re-identification, recognisability) and what the ciphertext shows with no attack, " +
        "print a verdict and write an HTML page",
    )
    .argument("<store>", "encrypted store to audit (ercnn encrypt output)")
    .requiredOption("--reference <path>", "plain reference photos: a plain store or a folder of images (any photos)")
    .requiredOption(
      "-k, --key <file>",
      "your key: used locally ONLY to decrypt the audited images for measurement (never shown to the attack)",
    )
    .option("-o, --out <file.html>", "write the self-contained HTML audit page here")
    .option("--json <file.json>", "write the numbers as JSON here")
    .option("--stats-images <n>", "images of each store the attack's statistics use (default 20000)", positiveInteger)
    .option("--pool <n>", "plaintexts in the re-identification pool (default 1000)", positiveInteger)
    .option("--measured <n>", "images decrypted and measured (default 200)", positiveInteger)
    .option(
      "--jigsaw-images <n>",
      `a scrambling key: ciphertexts whose block statistics the jigsaw reads (default ${AUDIT_DEFAULTS.jigsawImages})`,
      positiveInteger,
    )
    .option(
      "--recogniser-images <n>",
      "training images of the recognisability classifier (default 3000)",
      positiveInteger,
    )
    .option("--recogniser-epochs <n>", "its epochs (default 4; 0 skips recognisability)", nonNegativeInteger);
  return attackSearchOptions(cmd, "attack: ")
    .option("-q, --quiet", "no progress")
    .action(async (storeDir: string, o: AuditCliOptions) => {
      process.stdout.write(`${await auditCli(storeDir, o)}\n`);
    });
}
