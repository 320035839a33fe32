/**
 * Key files on disk (Node only). `saveKey` writes the versioned JSON format (see src/cipher/key.ts) with mode 0600,
 * atomically; `loadKey` reads JSON key files or the study's `.npy` layout (C, k², k²), detected by magic bytes,
 * and validates everything. Errors name the file and the problem; key values are never printed. A key file that
 * others can read is used with a warning, as ssh does for private keys.
 */
import { lstat, readFile, stat } from "node:fs/promises";
import { type CipherKey, type KeyMode, keyFromJson, keyFromNpy, keyToJson } from "../cipher/index.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { isNpy } from "../core/npy.ts";

export const KEY_FILE_MODE = 0o600;

/** Writes `key` to `path` (mode 0600, atomically); every failure names the path (a full disk, a missing folder). */
export async function saveKey(path: string, key: CipherKey, opts: { force?: boolean } = {}): Promise<void> {
  return saveKeyText(path, keyToJson(key), opts);
}

/** Writes a key file's text (any scheme's, see cipher/schemes/registry.ts) like saveKey. */
export async function saveKeyText(path: string, text: string, opts: { force?: boolean } = {}): Promise<void> {
  let exists = false;
  try {
    if (!opts.force)
      exists = await lstat(path).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === "ENOENT") return false;
          throw e;
        },
      );
    if (!exists) await writeFileAtomic(path, text, { mode: KEY_FILE_MODE });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`${path}: cannot write the key file (${err.code ?? err.message}); nothing was written`);
  }
  if (exists) throw new Error(`${path}: refusing to overwrite an existing key file (use force: true / --force)`);
}

/** The warning for a key file that group or others may read or write, or null (always null on Windows). */
export async function keyFileModeWarning(path: string): Promise<string | null> {
  if (process.platform === "win32") return null;
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  return (
    `key file ${path} has permissions ${mode.toString(8).padStart(4, "0")}: others can read it (a key is a secret); ` +
    `restrict it with: chmod 600 ${path}`
  );
}

/**
 * Loads a key from a JSON key file or a `.npy` (study layout; `npyMode` defaults to "uniform"). A file others can read
 * is still loaded, with a warning through `warn` (default: stderr).
 */
export async function loadKey(
  path: string,
  opts: { npyMode?: KeyMode; warn?: (message: string) => void } = {},
): Promise<CipherKey> {
  let bytes: Uint8Array;
  let warning: string | null;
  try {
    bytes = new Uint8Array(await readFile(path));
    warning = await keyFileModeWarning(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`${path}: cannot read key file (${err.code ?? err.message})`);
  }
  if (warning) (opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`)))(warning);
  if (isNpy(bytes)) return keyFromNpy(bytes, path, { mode: opts.npyMode });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path}: not a key file (neither .npy nor UTF-8 JSON)`);
  }
  return keyFromJson(text, path);
}
