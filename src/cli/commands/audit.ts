import { Command } from "commander";
import { runAudit } from "../../audit/audit.ts";
import { verdictText, writeAuditPage } from "../../audit/report.ts";
import { writeFileAtomic } from "../../core/atomic.ts";
import { loadKey } from "../../data/keyfile.ts";
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
  recogniserImages?: number;
  recogniserEpochs?: number;
  quiet?: boolean;
}

/** Runs the audit, prints the verdict, writes the page; returns the verdict text. */
export async function auditCli(storeDir: string, o: AuditCliOptions): Promise<string> {
  const key = await loadKey(o.key);
  const progress = progressReporter(o.quiet, createProgress);
  const r = await runAudit({
    store: storeDir,
    reference: o.reference,
    key,
    statsImages: o.statsImages,
    pool: o.pool,
    measured: o.measured,
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
