/**
 * Key files of any scheme (src/cipher/schemes): `loadSchemeKey` reads a Hill key file (with or without the "scheme"
 * field; a `.npy` key is a Hill key) or a seeded scheme's key file, with the same permission warning as loadKey;
 * `saveSchemeKey` writes the one key-file format with the scheme recorded (mode 0600, atomically).
 */
import { readFile } from "node:fs/promises";
import { type SchemeKey, schemeKeyFromJson, schemeKeyToJson } from "../cipher/schemes/index.ts";
import { isNpy } from "../core/npy.ts";
import { keyFileModeWarning, loadKey, saveKeyText } from "./keyfile.ts";

export async function saveSchemeKey(path: string, key: SchemeKey, opts: { force?: boolean } = {}): Promise<void> {
  return saveKeyText(path, schemeKeyToJson(key), opts);
}

export async function loadSchemeKey(path: string, opts: { warn?: (message: string) => void } = {}): Promise<SchemeKey> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`${path}: cannot read key file (${err.code ?? err.message})`);
  }
  if (isNpy(bytes)) return loadKey(path, opts);
  const warning = await keyFileModeWarning(path);
  if (warning) (opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`)))(warning);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path}: not a key file (neither .npy nor UTF-8 JSON)`);
  }
  return schemeKeyFromJson(text, path);
}
