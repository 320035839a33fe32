import { existsSync } from "node:fs";
import { Command } from "commander";
import { decrypt, inverseKey, makeKey, psnr, relativeError, shortFingerprint } from "../../cipher/index.ts";
import { attackStore, Store } from "../../data/index.ts";
import { decryptStoreValues } from "../../data/store-cipher.ts";
import { writeFileAtomic } from "../../core/atomic.ts";
import { loadKey, saveKey } from "../../io/keyfile.ts";
import { decryptionPicture } from "../../report/pictures.ts";
import { createProgress } from "../progress.ts";

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got '${v}'`);
  return n;
};

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
  quiet?: boolean;
}

/** Runs the attack; returns the report lines, the measured PSNR (with evalKey) and the time taken. */
export async function runAttack(o: AttackOptions): Promise<{ lines: string[]; psnr?: number; seconds: number }> {
  if (o.picture && !o.evalKey) throw new Error("--picture needs --eval-key (the plaintext column)");
  if (o.out && existsSync(o.out)) throw new Error(`${o.out} already exists; refusing to overwrite a key file`);
  const store = Store.open(o.store);
  const reference = Store.open(o.reference);
  const evalKey = o.evalKey ? await loadKey(o.evalKey) : null;
  if (evalKey) store.checkKey(evalKey);
  let bar: ReturnType<typeof createProgress> | null = null;
  let label = "";
  const t0 = performance.now();
  const r = attackStore(store, reference, {
    limit: o.limit,
    restarts: o.restarts,
    iterations: o.iterations,
    seed: o.seed,
    onProgress: (what, done, total) => {
      if (o.quiet) return;
      if (what !== label) {
        bar?.stop();
        label = what;
        bar = createProgress({ label: what, total, unit: "img" });
      }
      bar!.update(done);
    },
  });
  (bar as ReturnType<typeof createProgress> | null)?.stop();
  const seconds = (performance.now() - t0) / 1000;
  const [c, h, w] = store.shape;
  const estimate = await makeKey({
    mode: "uniform",
    blockSize: r.blockSize,
    channels: r.channels,
    values: r.key,
    source: "attack estimate",
  });
  const lines = [
    `ciphertext-only attack on ${o.store} (k=${r.blockSize}) in ${seconds.toFixed(1)} s; statistics mismatch per channel: ${r.loss.map((v) => v.toExponential(2)).join(", ")}`,
  ];
  if (o.out) {
    await saveKey(o.out, estimate);
    lines.push(`estimated key written to ${o.out} (fingerprint ${shortFingerprint(estimate)}, mode 0600)`);
  }
  let measured: number | undefined;
  if (evalKey) {
    const n = Math.min(store.count, 1000, store.meta.shards[0].count);
    const per = c * h * w;
    const x = store.readShard(0).x.subarray(0, n * per);
    const dims = { n, c, h, w, layout: "CHW" as const };
    const plain = decryptStoreValues(x, dims, evalKey);
    const guess = decrypt(x, dims, estimate).map((v) => Math.min(1, Math.max(0, v)));
    const n2 = r.blockSize ** 2;
    measured = psnr(guess, plain);
    lines.push(
      `measured with the true key: decryption PSNR ${measured.toFixed(2)} dB on ${n} images; ` +
        `K⁻¹ relative error ${relativeError(r.inverse, inverseKey(evalKey)).toFixed(3)} (${c}×${n2}×${n2})`,
    );
    if (o.picture) {
      const rows = Array.from({ length: Math.min(8, n) }, (_, i) => ({
        cipher: x.subarray(i * per, (i + 1) * per),
        adapt: guess.subarray(i * per, (i + 1) * per),
        plain: plain.subarray(i * per, (i + 1) * per),
      }));
      await writeFileAtomic(
        o.picture,
        await decryptionPicture(rows, { c, h, w }, { titles: { adapt: "attack decryption" } }),
      );
      lines.push(`picture written to ${o.picture}`);
    }
  }
  return { lines, psnr: measured, seconds };
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
    .option("--eval-key <file>", "the true key, used ONLY to measure the attack (PSNR, key error)")
    .option("--picture <file>", "PNG: ciphertext | attack decryption | plaintext (with --eval-key)")
    .option("--limit <n>", "images used from each store (default: all)", int)
    .option("--restarts <n>", "random starts per channel (default 12 for k ≤ 4, else 4)", int)
    .option("--iterations <n>", "gradient steps per start (default 1500 for k ≤ 4, else 400)", int)
    .option("--seed <n>", "seed of the random starts (default 1)", int)
    .option("-q, --quiet", "no progress")
    .action(async (storeDir: string, o) => {
      const r = await runAttack({ ...o, store: storeDir });
      process.stdout.write(`${r.lines.join("\n")}\n`);
    });
}
