/**
 * CIFAR-10's official binary batches (`cifar-10-batches-bin/`): records of 1 label byte + 3072 pixel bytes
 * (1024 R, 1024 G, 1024 B, each 32×32 row-major). Train = data_batch_1..5.bin, test = test_batch.bin.
 * Reads from the directory or straight from `cifar-10-binary.tar.gz`.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readTarMembers } from "./archive.ts";
import { DataError } from "./errors.ts";
import type { ImageSource, SourceItem } from "./source.ts";

export const CIFAR10_CLASSES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];
const RECORD = 3073;

export function cifarBatchFiles(split: "train" | "test"): string[] {
  return split === "train" ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ["test_batch.bin"];
}

/** Parses one batch file's bytes into items. */
export function parseCifarBatch(bytes: Uint8Array, name: string): SourceItem[] {
  if (bytes.length === 0 || bytes.length % RECORD !== 0)
    throw new DataError(
      `CIFAR batch ${name} is truncated or corrupt: ${bytes.length} bytes is not a multiple of ${RECORD}`,
      "BAD_BATCH",
    );
  const items: SourceItem[] = [];
  for (let off = 0, i = 0; off < bytes.length; off += RECORD, i++) {
    const label = bytes[off];
    if (label > 9) throw new DataError(`CIFAR batch ${name} record ${i}: label ${label} out of range`, "BAD_BATCH");
    items.push({ name: `${name}#${i}`, label, chw: bytes.subarray(off + 1, off + RECORD), h: 32, w: 32 });
  }
  return items;
}

export async function readCifarBinary(path: string, split: "train" | "test" = "train"): Promise<ImageSource> {
  if (!existsSync(path)) throw new DataError(`${path} does not exist`, "NOT_FOUND");
  const files = cifarBatchFiles(split);
  let blobs: [string, Uint8Array][];
  if (statSync(path).isDirectory()) {
    const dir = existsSync(join(path, "cifar-10-batches-bin")) ? join(path, "cifar-10-batches-bin") : path;
    blobs = files.map((f) => {
      const p = join(dir, f);
      if (!existsSync(p)) throw new DataError(`CIFAR batch ${p} is missing`, "NOT_FOUND");
      return [p, new Uint8Array(readFileSync(p))];
    });
  } else {
    const m = await readTarMembers(path, (p) => files.some((f) => p.endsWith(`/${f}`) || p === f));
    blobs = files.map((f) => {
      const key = [...m.keys()].find((k) => k.endsWith(`/${f}`) || k === f);
      if (!key) throw new DataError(`CIFAR batch ${f} is missing from ${path}`, "NOT_FOUND");
      return [`${path}:${key}`, m.get(key)!];
    });
  }
  const items = blobs.flatMap(([n, b]) => parseCifarBatch(b, n));
  return {
    kind: "cifar-binary",
    description: `CIFAR-10 binary ${split} (${path})`,
    classes: [...CIFAR10_CLASSES],
    items,
    size: { h: 32, w: 32 },
  };
}

export function isCifarBinary(path: string): boolean {
  if (!existsSync(path)) return false;
  if (statSync(path).isDirectory())
    return (
      existsSync(join(path, "data_batch_1.bin")) ||
      existsSync(join(path, "test_batch.bin")) ||
      existsSync(join(path, "cifar-10-batches-bin"))
    );
  return /cifar-10-binary\.tar\.gz$/i.test(path);
}
