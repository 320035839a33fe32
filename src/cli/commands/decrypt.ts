import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Command } from "commander";
import { shortFingerprint } from "../../cipher/index.ts";
import { isHillKey, type SchemeKey, schemeOf } from "../../cipher/schemes/index.ts";
import { writeFileAtomic } from "../../core/atomic.ts";
import { encodePng } from "../../data/decode.ts";
import { DataError } from "../../data/errors.ts";
import { confinedPath } from "../../data/names.ts";
import { loadSchemeKey } from "../../data/scheme-keyfile.ts";
import { checkStoreKey, isStore, Store, type StoreMeta } from "../../data/store.ts";
import { decryptStoreValues } from "../../data/store-cipher.ts";
import { positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";

export interface DecryptCliOptions {
  key?: string;
  out: string;
  limit?: number;
}

/** The store folder that `dir` is or lies inside, if any: plaintext must never be written into a store. */
function enclosingStore(dir: string): string | null {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (isStore(d)) return d;
    if (dirname(d) === d) return null;
  }
}

/**
 * Decrypting only reads the store, so a key that is not the store's (an attack's estimate, a key to test) is used
 * with a warning; what cannot work is refused: a key for a plain store, or one of another block size, channel count,
 * kind (a mod256 store's values are not real-valued ciphertexts) or scrambling (block positions stay shuffled).
 * Writing (encrypt) never mixes keys.
 */
function checkDecryptKey(dir: string, meta: StoreMeta, key: SchemeKey | null): void {
  const sk = meta.key;
  if (!sk || !key) {
    checkStoreKey(dir, meta, key);
    return;
  }
  if (key.fingerprint === sk.fingerprint) return;
  const storeScheme = sk.scheme ?? (sk.scrambled ? "hill-scramble" : "hill");
  for (const [what, s, k] of [
    ["scheme", storeScheme, schemeOf(key)],
    ["block size", sk.blockSize, key.blockSize],
    ["channel count", sk.channels, key.channels],
    ["kind", sk.mode ?? "none", isHillKey(key) ? key.mode : "none"],
  ] as const)
    if (s !== k)
      throw new DataError(
        `store ${dir} was written with a key of ${what} ${s}; the given key ${shortFingerprint(key)} has ${k} and cannot decrypt it`,
        "KEY_MISMATCH",
      );
  process.stderr.write(
    `warning: key ${shortFingerprint(key)} is not the key the store ${dir} was written with ` +
      `(${sk.fingerprint.slice(0, 16)}); decrypting with it anyway (an attack's estimate, say): the images are only ` +
      "as close to the originals as that key is to the store's\n",
  );
}

export async function runDecrypt(storeDir: string, o: DecryptCliOptions): Promise<void> {
  const inside = enclosingStore(o.out);
  if (inside)
    throw new DataError(
      `--out ${o.out} is inside the store ${inside}: decrypted images would lie as plaintext beside ` +
        "the ciphertexts (and anyone given the store would get them); choose a folder outside any store",
      "OUT_IN_STORE",
    );
  const store = Store.open(storeDir);
  const meta = store.meta;
  if (meta.key && !o.key)
    throw new DataError(`store ${storeDir} is encrypted (key ${meta.key.fingerprint}); give --key`, "NO_KEY");
  const key = o.key ? await loadSchemeKey(o.key) : null;
  checkDecryptKey(storeDir, meta, key);
  const [c, h, w] = meta.shape;
  const per = c * h * w;
  const total = Math.min(meta.count, o.limit ?? Number.POSITIVE_INFINITY);
  const width = String(Math.max(0, meta.count - 1)).length;
  // Class names were checked as folder names when the store was opened; the paths are confined to --out anyway.
  const folders = meta.classes.map((cl) => confinedPath(o.out, cl));
  for (const f of folders) mkdirSync(f, { recursive: true });
  const bar = createProgress({ label: "decrypt", total, unit: "img" });
  let pos = 0;
  for (let s = 0; s < meta.shards.length && pos < total; s++) {
    const sh = store.readShard(s);
    const n = Math.min(sh.n, total - pos);
    const x = sh.x.subarray(0, n * per);
    const plain = key ? decryptStoreValues(x, { n, c, h, w, layout: "CHW" }, key) : x;
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const name = confinedPath(folders[sh.y[i]], `${String(pos + i).padStart(width, "0")}.png`);
      jobs.push(encodePng(plain.subarray(i * per, (i + 1) * per), c, h, w).then((png) => writeFileAtomic(name, png)));
      if (jobs.length >= 64) {
        await Promise.all(jobs.splice(0));
        bar.update(pos + i + 1);
      }
    }
    await Promise.all(jobs);
    pos += n;
    bar.update(pos);
  }
  bar.stop();
  process.stdout.write(`wrote ${pos} PNG images to ${o.out}/<class>/\n`);
}

export function decryptCommand(): Command {
  return new Command("decrypt")
    .description("decrypt a store back to PNG images (<out>/<class>/<index>.png); needs the store's key")
    .argument("<store>", "store directory")
    .option(
      "-k, --key <file>",
      "the store's key, or another of its size and kind such as an attack's estimate (used with a warning)",
    )
    .requiredOption("-o, --out <dir>", "output folder")
    .option("--limit <n>", "only the first n images", positiveInteger)
    .action(async (store: string, o: DecryptCliOptions) => runDecrypt(store, o));
}
