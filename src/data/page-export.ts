/**
 * Archives written by the client page (web/, "Encrypt a dataset"): the study's layout in a plain tar
 * (`{i}.npy` H×W×3 float32 store values, `train_label.txt`/`test_label.txt` lines `{i}.npy {label}`) plus
 * `ercnn-export.json`, which names the classes and the identity of the key (fingerprint, mode, block size, and
 * `scrambled: true` when the key scrambles block positions, or `scheme` and `mode` both the scheme's name for a seeded
 * scheme's key (src/cipher/schemes); never its values or seed). `ercnn encrypt EXPORT.tar -o STORE` imports it as an encrypted store; the provider who runs that has no key,
 * so the store's key identity comes from the manifest (`declaredKey`), and a `--key` given anyway must match it.
 */
import { basename } from "node:path";
import {
  type CipherKey,
  KEY_MODES,
  KeyError,
  type KeyMode,
  SCRAMBLE_SCHEME,
  type ScrambleSpec,
} from "../cipher/index.ts";
import type { SchemeKey } from "../cipher/schemes/index.ts";
import { SEEDED_SCHEMES, type SeededKey, type SeededSchemeName } from "../cipher/schemes/seeded-key.ts";
import { archiveRoot, isArchive, readTarMembers, unpackArchive } from "./archive.ts";
import { DataError } from "./errors.ts";
import { classListProblem } from "./names.ts";
import type { ImageSource } from "./source.ts";
import { readStudyLayout } from "./study-layout.ts";

export const PAGE_EXPORT_MANIFEST = "ercnn-export.json";
export const PAGE_EXPORT_FORMAT = "ercnn-page-export";

export interface PageExportManifest {
  format: typeof PAGE_EXPORT_FORMAT;
  version: 1;
  layout: "study";
  split: "train" | "test";
  /** `scrambled` is written (true) only for a key with block scrambling; older pages never write it. */
  key: {
    fingerprint: string;
    /** The Hill key's mode, or the seeded scheme's name (then equal to `scheme`). */
    mode: KeyMode | SeededSchemeName;
    /** Present for a seeded scheme's key only; absent means a Hill key. */
    scheme?: SeededSchemeName;
    blockSize: number;
    channels: number;
    scrambled?: boolean;
  };
  classes: string[];
  shape: [number, number, number];
  decode: { resize?: number; crop?: number };
  count: number;
  skipped: { name: string; reason: string }[];
  createdAt: string;
}

function bad(file: string, what: string): DataError {
  return new DataError(`${file}: ${PAGE_EXPORT_MANIFEST} ${what}`, "BAD_EXPORT");
}

const posInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;

export function parsePageManifest(bytes: Uint8Array, file: string): PageExportManifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw bad(file, `is not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== PAGE_EXPORT_FORMAT)
    throw bad(file, `has format ${JSON.stringify(m.format)}, expected "${PAGE_EXPORT_FORMAT}"`);
  if (m.version !== 1) throw bad(file, `has version ${JSON.stringify(m.version)}; this ercnn reads version 1`);
  if (m.split !== "train" && m.split !== "test") throw bad(file, `field split must be "train" or "test"`);
  const k = m.key as PageExportManifest["key"] | undefined;
  if (!k || typeof k.fingerprint !== "string" || !/^[0-9a-f]{64}$/.test(k.fingerprint))
    throw bad(file, "field key.fingerprint must be 64 lowercase hex digits");
  if (k.scheme !== undefined) {
    if (!SEEDED_SCHEMES.includes(k.scheme))
      throw bad(file, `field key.scheme must be one of ${SEEDED_SCHEMES.join(", ")} (absent for a Hill key)`);
    if (k.mode !== k.scheme) throw bad(file, `field key.mode must be "${k.scheme}" for a ${k.scheme} key`);
    if (k.scrambled !== undefined) throw bad(file, `field key.scrambled is for Hill keys, not a ${k.scheme} key`);
  } else if (!KEY_MODES.includes(k.mode as KeyMode))
    throw bad(file, `field key.mode must be one of ${KEY_MODES.join(", ")}`);
  if (!posInt(k.blockSize) || k.channels !== 3) throw bad(file, "fields key.blockSize/key.channels are invalid");
  if (k.scrambled !== undefined && typeof k.scrambled !== "boolean")
    throw bad(file, `field key.scrambled must be true or false, not ${JSON.stringify(k.scrambled)}`);
  const shape = m.shape as number[];
  if (!Array.isArray(shape) || shape.length !== 3 || shape[0] !== 3 || !shape.every(posInt))
    throw bad(file, "field shape must be [3, H, W]");
  if (shape[1] % k.blockSize || shape[2] % k.blockSize)
    throw bad(file, `field shape ${shape.join("×")} is not a multiple of the block size ${k.blockSize}`);
  const classes = m.classes as string[];
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === "string" && c))
    throw bad(file, "field classes must be a non-empty list of class names");
  const names = classListProblem(classes);
  if (names) throw bad(file, `field ${names} (class names become folder names)`);
  return m as unknown as PageExportManifest;
}

/** The manifest if `file` is a tar archive written by the page, else null (one streaming pass over the archive). */
export async function readPageManifest(file: string): Promise<PageExportManifest | null> {
  if (!isArchive(file)) return null;
  const members = await readTarMembers(file, (p) => p === PAGE_EXPORT_MANIFEST);
  const bytes = members.get(PAGE_EXPORT_MANIFEST);
  return bytes ? parsePageManifest(bytes, file) : null;
}

/** The page export as a source: unpacked once into the archive cache, read as the study layout, named classes. */
export async function readPageExport(file: string, manifest: PageExportManifest): Promise<ImageSource> {
  const dir = archiveRoot(await unpackArchive(file));
  const src = readStudyLayout(dir, manifest.split);
  const n = manifest.classes.length;
  const wrong = src.items.find((it) => it.label >= n);
  if (wrong)
    throw new DataError(
      `${file}: ${wrong.name} has label ${wrong.label}, but the export names ${n} classes`,
      "BAD_EXPORT",
    );
  if (src.items.length !== manifest.count)
    throw new DataError(
      `${file}: the label file lists ${src.items.length} images, the manifest ${manifest.count}`,
      "BAD_EXPORT",
    );
  return {
    ...src,
    description: `page export ${basename(file)} (${manifest.split})`,
    classes: [...manifest.classes],
    size: { h: manifest.shape[1], w: manifest.shape[2] },
  };
}

/**
 * The identity of the key an export was encrypted with, as a CipherKey for the store's meta.json. Its values are not
 * known (the provider has no key): reading `values` throws, and it is not enumerable, so the copy a worker gets has
 * none. A scrambling key has `scramble` like any CipherKey (so the store's meta.json says `scrambled: true`), but its
 * `seed` is unknown too: reading it throws, and it is not enumerable either. The study-layout import never encrypts,
 * it only records the key's identity.
 */
export function declaredKey(m: PageExportManifest, file: string): SchemeKey {
  const unknown = (what: string) => () => {
    throw new KeyError(`${file}: only the key's fingerprint is known (the page export carries no ${what})`);
  };
  if (m.key.scheme) {
    const seeded = {
      version: 1,
      scheme: m.key.scheme,
      blockSize: m.key.blockSize,
      channels: m.key.channels,
      createdAt: m.createdAt,
      fingerprint: m.key.fingerprint,
    } as SeededKey;
    Object.defineProperty(seeded, "seed", { enumerable: false, get: unknown("key seed") });
    return seeded;
  }
  const key = {
    version: 1,
    mode: m.key.mode as KeyMode,
    blockSize: m.key.blockSize,
    channels: m.key.channels,
    createdAt: m.createdAt,
    fingerprint: m.key.fingerprint,
  } as CipherKey;
  Object.defineProperty(key, "values", { enumerable: false, get: unknown("key values") });
  if (m.key.scrambled) {
    // The one scheme a key file can hold (scrambleProblem accepts no other), so the one the page's key used.
    const scramble = { scheme: SCRAMBLE_SCHEME } as ScrambleSpec;
    Object.defineProperty(scramble, "seed", { enumerable: false, get: unknown("scrambling seed") });
    key.scramble = scramble;
  }
  return key;
}

/**
 * A `--key` given with a page export must be the key the page used (the fingerprint covers the scrambling seed). A
 * manifest that says `scrambled` for a key without scrambling is refused; one that omits it for a scrambling key is an
 * export from a page before the flag, and the store takes `scrambled` from the given key.
 */
export function checkExportKey(m: PageExportManifest, key: SchemeKey, file: string): void {
  const given = "scheme" in key ? key.scheme : "a Hill cipher";
  if (given !== (m.key.scheme ?? "a Hill cipher"))
    throw new DataError(
      `${file} was encrypted with ${m.key.scheme ?? "a Hill cipher"}; the given key ${key.fingerprint.slice(0, 16)} is ${given}`,
      "KEY_MISMATCH",
    );
  if (key.fingerprint !== m.key.fingerprint)
    throw new DataError(
      `${file} was encrypted with key ${m.key.fingerprint.slice(0, 16)}, not with the given key ${key.fingerprint.slice(0, 16)}`,
      "KEY_MISMATCH",
    );
  if (m.key.scrambled && !("scramble" in key && key.scramble))
    throw new DataError(
      `${file}: ${PAGE_EXPORT_MANIFEST} says key.scrambled, but the given key ${key.fingerprint.slice(0, 16)} has no block scrambling`,
      "BAD_EXPORT",
    );
}
