/**
 * The learnable-encryption schemes as data (SCHEMES), and the key operations for all of them: draw a key for a
 * scheme, write it as the one key-file format with the scheme recorded, read any key file back (a file without a
 * "scheme" field is a Hill key, as every key file written before schemes existed), and encrypt/decrypt with the
 * scheme a key belongs to.
 */
import type { ImageDims } from "../block.ts";
import { type CipherKey, generateKey, KEY_FORMAT, KeyError, type KeyMode, keyFromJson, keyToJson } from "../key.ts";
import type { Pixels } from "./blocks.ts";
import { ETC } from "./etc.ts";
import { FFX } from "./ffx.ts";
import { HILL, HILL_SCRAMBLE } from "./hill.ts";
import { LE } from "./le.ts";
import { PIXEL_SHUFFLE_NP } from "./pixel-shuffle-np.ts";
import {
  generateSeededKey,
  SEEDED_SCHEMES,
  type SeededSchemeName,
  seededKeyFromObject,
  seededKeyToJson,
} from "./seeded-key.ts";
import type { Scheme, SchemeKey, SchemeName } from "./types.ts";

export const SCHEMES: readonly Scheme[] = [HILL, HILL_SCRAMBLE, PIXEL_SHUFFLE_NP, LE, ETC, FFX];
export const SCHEME_NAMES: readonly SchemeName[] = SCHEMES.map((s) => s.name);
export const DEFAULT_SCHEME: SchemeName = "hill";

export function schemeByName(name: string): Scheme {
  const s = SCHEMES.find((x) => x.name === name);
  if (!s) throw new KeyError(`unknown scheme '${name}' (known: ${SCHEME_NAMES.join(", ")})`);
  return s;
}

/** The scheme a key belongs to. */
export function schemeOf(key: SchemeKey): SchemeName {
  if ("scheme" in key) return key.scheme;
  return key.scramble ? "hill-scramble" : "hill";
}

export function isHillKey(key: SchemeKey): key is CipherKey {
  return !("scheme" in key);
}

/** Draws a key for `scheme` (Hill keys through generateKey with `mode`; the others as a 256-bit seed). */
export async function generateSchemeKey(opts: {
  scheme: SchemeName;
  blockSize: number;
  channels?: number;
  seed?: string | number;
  mode?: KeyMode;
  onChannel?: (done: number, channels: number) => void;
}): Promise<SchemeKey> {
  schemeByName(opts.scheme);
  if (opts.scheme === "hill" || opts.scheme === "hill-scramble")
    return generateKey({ ...opts, scramble: opts.scheme === "hill-scramble" });
  if (opts.mode !== undefined && opts.mode !== "uniform")
    throw new KeyError(`--mode ${opts.mode} applies to Hill keys only, not to ${opts.scheme}`);
  return generateSeededKey({ ...opts, scheme: opts.scheme as SeededSchemeName });
}

/** The key file text: Hill keys in their JSON format with `"scheme"` added after `"version"`; seeded keys as theirs. */
export function schemeKeyToJson(key: SchemeKey): string {
  if (!isHillKey(key)) return seededKeyToJson(key);
  const text = keyToJson(key);
  const at = text.indexOf('\n  "mode"');
  return `${text.slice(0, at)}\n  "scheme": ${JSON.stringify(schemeOf(key))},${text.slice(at)}`;
}

/** Reads any key file's text; errors name `source`. A file without "scheme" loads as a Hill key. */
export async function schemeKeyFromJson(text: string, source = "key JSON"): Promise<SchemeKey> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new KeyError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new KeyError(`${source}: not a JSON object`);
  const obj = o as Record<string, unknown>;
  if (obj.format !== KEY_FORMAT)
    throw new KeyError(`${source}: format is ${JSON.stringify(obj.format)}, expected "${KEY_FORMAT}"`);
  if (obj.version !== 1)
    throw new KeyError(`${source}: unsupported key file version ${JSON.stringify(obj.version)} (expected 1)`);
  const scheme = obj.scheme ?? "hill";
  if (typeof scheme !== "string" || !SCHEME_NAMES.includes(scheme as SchemeName))
    throw new KeyError(`${source}: scheme ${JSON.stringify(scheme)} is not one of ${SCHEME_NAMES.join(", ")}`);
  if (SEEDED_SCHEMES.includes(scheme as SeededSchemeName)) return seededKeyFromObject(obj, source);
  const key = await keyFromJson(text, source);
  // A file without "scheme" (every key written before schemes existed) is whichever Hill scheme its own fields say.
  if (obj.scheme !== undefined && schemeOf(key) !== scheme)
    throw new KeyError(
      `${source}: scheme is "${scheme}" but the key ${key.scramble ? "has" : "has no"} block scrambling (its scheme is ${schemeOf(key)})`,
    );
  return key;
}

/** Encrypts with the key's own scheme. */
export function encryptWith<T extends Pixels>(data: T, dims: ImageDims, key: SchemeKey, out?: T): T {
  return schemeByName(schemeOf(key)).encrypt(data, dims, key, out);
}

/** Decrypts with the key's own scheme. */
export function decryptWith<T extends Pixels>(data: T, dims: ImageDims, key: SchemeKey, out?: T): T {
  return schemeByName(schemeOf(key)).decrypt(data, dims, key, out);
}
