import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Command } from "commander";
import { writeFileAtomic } from "../../core/atomic.ts";
import { encodePng } from "../../data/decode.ts";
import { DataError } from "../../data/errors.ts";
import { isStore, Store } from "../../data/store.ts";
import { decryptStoreValues } from "../../data/store-cipher.ts";
import { loadKey } from "../../data/keyfile.ts";
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
  const key = o.key ? await loadKey(o.key) : null;
  store.checkKey(key);
  const [c, h, w] = meta.shape;
  const per = c * h * w;
  const total = Math.min(meta.count, o.limit ?? Number.POSITIVE_INFINITY);
  const width = String(Math.max(0, meta.count - 1)).length;
  for (const cl of meta.classes) mkdirSync(join(o.out, cl), { recursive: true });
  const bar = createProgress({ label: "decrypt", total, unit: "img" });
  let pos = 0;
  for (let s = 0; s < meta.shards.length && pos < total; s++) {
    const sh = store.readShard(s);
    const n = Math.min(sh.n, total - pos);
    const x = sh.x.subarray(0, n * per);
    const plain = key ? decryptStoreValues(x, { n, c, h, w, layout: "CHW" }, key) : x;
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const name = join(o.out, meta.classes[sh.y[i]], `${String(pos + i).padStart(width, "0")}.png`);
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
    .option("-k, --key <file>", "the key the store was written with (refused if its fingerprint differs)")
    .requiredOption("-o, --out <dir>", "output folder")
    .option("--limit <n>", "only the first n images", positiveInteger)
    .action(async (store: string, o: DecryptCliOptions) => runDecrypt(store, o));
}
