import { Command } from "commander";
import { runAudit } from "../../audit/audit.ts";
import { verdictText, writeAuditPage } from "../../audit/report.ts";
import { writeFileAtomic } from "../../core/atomic.ts";
import { loadKey } from "../../data/keyfile.ts";
import { nonNegativeInteger, positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";
import { attackTuning, progressReporter } from "./attack.ts";

export interface AuditCliOptions {
  reference: string;
  key: string;
  out?: string;
  json?: string;
  statsImages?: number;
  pool?: number;
  measured?: number;
  recogniserImages?: number;
  recogniserEpochs?: number;
  restarts?: number;
  iterations?: number;
  seed?: number;
  energy?: boolean;
  search?: boolean;
  searchRelaxations?: number;
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
    energyRelations: o.energy,
    search: o.search,
    searchOptions: { maxRelaxations: o.searchRelaxations },
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
  return new Command("audit")
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
    .option("--recogniser-epochs <n>", "its epochs (default 4; 0 skips recognisability)", nonNegativeInteger)
    .option(
      "--restarts <n>",
      "attack: random starts per channel (default 12 for k ≤ 4, 8 for k = 5–8, 4 for k = 9–15, 2 from k = 16)",
      positiveInteger,
    )
    .option(
      "--iterations <n>",
      "attack: objective evaluations per start (default 1500 for k ≤ 4, 200 from k = 16, else 400)",
      positiveInteger,
    )
    .option("--seed <n>", "attack: seed of the random starts (default 1)", positiveInteger)
    .option("--energy", "attack: also match energy-weighted (fourth-order) relations (default for k ≥ 8)")
    .option("--no-energy", "attack: second-order relations only")
    .option(
      "--search",
      "experimental: refine the attack's estimate with the sparsity search (libtorch L-BFGS; ~10 min per channel at k = 8)",
    )
    .option(
      "--search-relaxations <n>",
      "sparsity search: L-BFGS relaxations per channel, its cost bound (default 60)",
      positiveInteger,
    )
    .option("-q, --quiet", "no progress")
    .action(async (storeDir: string, o: AuditCliOptions) => {
      process.stdout.write(`${await auditCli(storeDir, o)}\n`);
    });
}
