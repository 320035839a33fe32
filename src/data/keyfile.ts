/**
 * Key files on disk (Node only). `saveKey` writes the versioned JSON format (see src/cipher/key.ts) with mode 0600,
 * atomically; `loadKey` reads JSON key files or the study's `.npy` layout (C, k², k²), detected by magic bytes,
 * and validates everything. Errors name the file and the problem; key values are never printed.
 */
import { lstat, readFile } from "node:fs/promises";
import { type CipherKey, type KeyMode, keyFromJson, keyFromNpy, keyToJson } from "../cipher/index.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { isNpy } from "../core/npy.ts";

export const KEY_FILE_MODE = 0o600;

export async function saveKey(path: string, key: CipherKey, opts: { force?: boolean } = {}): Promise<void> {
  if (!opts.force) {
    const exists = await lstat(path).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return false;
        throw e;
      },
    );
    if (exists) throw new Error(`${path}: refusing to overwrite an existing key file (use force: true / --force)`);
  }
  await writeFileAtomic(path, keyToJson(key), { mode: KEY_FILE_MODE });
}

/** Loads a key from a JSON key file or a `.npy` (study layout; `npyMode` defaults to "uniform"). */
export async function loadKey(path: string, opts: { npyMode?: KeyMode } = {}): Promise<CipherKey> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`${path}: cannot read key file (${err.code ?? err.message})`);
  }
  if (isNpy(bytes)) return keyFromNpy(bytes, path, { mode: opts.npyMode });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path}: not a key file (neither .npy nor UTF-8 JSON)`);
  }
  return keyFromJson(text, path);
}
