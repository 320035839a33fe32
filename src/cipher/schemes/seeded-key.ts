/**
 * Keys of the seeded schemes (pixel-shuffle-np, le, etc, ffx): a secret 256-bit seed from which the scheme derives
 * its permutations, masks and cipher keys (each scheme documents how), plus the block size and channels it was made
 * for. Key file (the same versioned JSON format as the Hill keys, with the scheme recorded):
 *   { "format": "ercnn-cipher-key", "version": 1, "scheme": NAME, "blockSize", "channels", "createdAt",
 *     "fingerprint", "seed": 64 lowercase hex }
 * Fingerprint: hex SHA-256 of UTF-8 "ercnn-key\0v1\0scheme\0" + NAME + "\0" + uint32 LE blockSize + uint32 LE channels
 * + the 32 seed bytes. The seed is as secret as a Hill key's matrices: never print or log it.
 */
import { ChaCha20Random, nextInt, randomSource, sha256, toHex } from "../../core/rng.ts";
import { KEY_FORMAT, KeyError } from "../key.ts";

export const SEEDED_SCHEMES = ["pixel-shuffle-np", "le", "etc", "ffx"] as const;
export type SeededSchemeName = (typeof SEEDED_SCHEMES)[number];

export interface SeededKey {
  version: 1;
  scheme: SeededSchemeName;
  blockSize: number;
  channels: number;
  /** 64 lowercase hex characters. Secret: never log. */
  seed: string;
  createdAt: string;
  fingerprint: string;
}

const MAX_BLOCK = 32;

function checkShape(blockSize: unknown, channels: unknown, where: string): void {
  if (typeof blockSize !== "number" || !Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK)
    throw new KeyError(`${where}: blockSize must be an integer in [1, ${MAX_BLOCK}], got ${String(blockSize)}`);
  if (typeof channels !== "number" || !Number.isInteger(channels) || channels < 1 || channels > 64)
    throw new KeyError(`${where}: channels must be an integer in [1, 64], got ${String(channels)}`);
}

export function seedToBytes(seed: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(seed.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export async function seededFingerprint(
  scheme: SeededSchemeName,
  blockSize: number,
  channels: number,
  seed: string,
): Promise<string> {
  const head = new TextEncoder().encode(`ercnn-key\u0000v1\u0000scheme\u0000${scheme}\u0000`);
  const bytes = new Uint8Array(head.length + 8 + 32);
  bytes.set(head, 0);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(head.length, blockSize, true);
  dv.setUint32(head.length + 4, channels, true);
  bytes.set(seedToBytes(seed), head.length + 8);
  return toHex(await sha256(bytes));
}

/** Draws a seeded-scheme key: the seed comes from the system CSPRNG, or from the seeded ChaCha20 stream (rng.ts). */
export async function generateSeededKey(opts: {
  scheme: SeededSchemeName;
  blockSize: number;
  channels?: number;
  seed?: string | number;
}): Promise<SeededKey> {
  const channels = opts.channels ?? 3;
  checkShape(opts.blockSize, channels, "generateSchemeKey");
  const rng = await randomSource(opts.seed);
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i += 4) new DataView(bytes.buffer).setUint32(i, rng.nextUint32(), true);
  return makeSeededKey({ scheme: opts.scheme, blockSize: opts.blockSize, channels, seed: toHex(bytes) });
}

export async function makeSeededKey(opts: {
  scheme: SeededSchemeName;
  blockSize: number;
  channels: number;
  seed: string;
  createdAt?: string;
}): Promise<SeededKey> {
  return {
    version: 1,
    scheme: opts.scheme,
    blockSize: opts.blockSize,
    channels: opts.channels,
    seed: opts.seed,
    createdAt: opts.createdAt ?? new Date().toISOString(),
    fingerprint: await seededFingerprint(opts.scheme, opts.blockSize, opts.channels, opts.seed),
  };
}

export function seededKeyToJson(key: SeededKey): string {
  const o = {
    format: KEY_FORMAT,
    version: key.version,
    scheme: key.scheme,
    blockSize: key.blockSize,
    channels: key.channels,
    createdAt: key.createdAt,
    fingerprint: key.fingerprint,
    seed: key.seed,
  };
  return `${JSON.stringify(o, null, 2)}\n`;
}

/** Validates a parsed key file of a seeded scheme; errors name `source` and the field. */
export async function seededKeyFromObject(o: Record<string, unknown>, source: string): Promise<SeededKey> {
  if (!SEEDED_SCHEMES.includes(o.scheme as SeededSchemeName))
    throw new KeyError(`${source}: scheme ${JSON.stringify(o.scheme)} is not one of ${SEEDED_SCHEMES.join(", ")}`);
  checkShape(o.blockSize, o.channels, source);
  if (typeof o.createdAt !== "string" || Number.isNaN(Date.parse(o.createdAt)))
    throw new KeyError(`${source}: createdAt must be an ISO date string`);
  if (typeof o.seed !== "string" || !/^[0-9a-f]{64}$/.test(o.seed))
    throw new KeyError(`${source}: seed must be 64 lowercase hex characters`);
  if (typeof o.fingerprint !== "string" || !/^[0-9a-f]{64}$/.test(o.fingerprint))
    throw new KeyError(`${source}: fingerprint must be 64 lowercase hex characters`);
  const allowed = ["format", "version", "scheme", "blockSize", "channels", "createdAt", "fingerprint", "seed"];
  const extra = Object.keys(o).filter((f) => !allowed.includes(f));
  if (extra.length) throw new KeyError(`${source}: unknown field(s) ${extra.join(", ")} for a ${o.scheme} key`);
  const key = await makeSeededKey({
    scheme: o.scheme as SeededSchemeName,
    blockSize: o.blockSize as number,
    channels: o.channels as number,
    seed: o.seed,
    createdAt: o.createdAt,
  });
  if (key.fingerprint !== o.fingerprint)
    throw new KeyError(
      `${source}: fingerprint mismatch (file says ${o.fingerprint.slice(0, 16)}…, contents hash to ${key.fingerprint.slice(0, 16)}…): the key file was modified or corrupted`,
    );
  return key;
}

/**
 * The stream one part of a seeded key is drawn from: ChaCha20 keyed with the seed, the nonce holding a 4-byte
 * ASCII tag naming the part and two uint32 parameters (little-endian), e.g. the block grid for per-block keys.
 * Returns nextInt(bound), uniform without modulo bias.
 */
export function keyStream(seed: string, tag: string, a = 0, b = 0): (bound: number) => number {
  if (tag.length !== 4) throw new Error("keyStream: the tag must be 4 ASCII characters");
  const nonce = new Uint8Array(12);
  nonce.set(new TextEncoder().encode(tag), 0);
  const dv = new DataView(nonce.buffer);
  dv.setUint32(4, a, true);
  dv.setUint32(8, b, true);
  const rng = new ChaCha20Random(seedToBytes(seed), nonce);
  return (bound: number) => nextInt(rng, bound);
}
