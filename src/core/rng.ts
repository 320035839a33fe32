/**
 * Random sources for key generation.
 *
 * - Unseeded: bytes come straight from the platform CSPRNG, `globalThis.crypto.getRandomValues`
 *   (Web Crypto; available in browsers and Node ≥ 19).
 * - Seeded (reproducible experiments): ChaCha20 (RFC 8439, 20 rounds; @noble/ciphers' audited implementation) used
 *   as a stream generator. The 256-bit ChaCha key is SHA-256 of the UTF-8 seed string (`String(seed)`, so the number 7 and
 *   the string "7" give the same stream) with domain separation `"ercnn-key-seed/v1\0"`; nonce = 0,
 *   block counter starting at 0. Same seed → same key bytes on every platform.
 *
 * Derived values: uniform doubles use 53 random bits (`[0,1)`), normals use Box–Muller on uniforms in (0,1].
 */

import { chacha20 } from "@noble/ciphers/chacha.js";

export interface RandomSource {
  /** A uniformly random 32-bit unsigned integer. */
  nextUint32(): number;
}

function webCrypto(): Crypto {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (!c || typeof c.getRandomValues !== "function") {
    throw new Error("ercnn cipher: globalThis.crypto.getRandomValues is not available on this platform");
  }
  return c;
}

/** CSPRNG-backed source: buffered `crypto.getRandomValues`. */
export class SystemRandom implements RandomSource {
  private buf = new Uint32Array(4096);
  private pos = 4096;
  nextUint32(): number {
    if (this.pos >= this.buf.length) {
      webCrypto().getRandomValues(this.buf);
      this.pos = 0;
    }
    return this.buf[this.pos++];
  }
}

/** Keystream blocks produced per call into the audited cipher (4 KiB: amortises the call, small enough to waste). */
const BLOCKS_PER_REFILL = 64;
const ZEROS = new Uint8Array(BLOCKS_PER_REFILL * 64);

/**
 * ChaCha20 keystream (RFC 8439: 32-byte key, 12-byte nonce, 32-bit block counter from 0) as a deterministic random
 * source. The block function is @noble/ciphers' audited `chacha20` (pure JS, so it also runs in the page); this class
 * only buffers the keystream and reads it as little-endian 32-bit words.
 */
export class ChaCha20Random implements RandomSource {
  private readonly key: Uint8Array;
  private readonly nonce: Uint8Array;
  private readonly bytes = new Uint8Array(ZEROS.length);
  private readonly words = new DataView(this.bytes.buffer);
  /** Block counter of the first block in `bytes`. */
  private counter = -BLOCKS_PER_REFILL;
  /** Next unread word in `bytes`; one past the end forces a refill. */
  private pos = ZEROS.length / 4;

  /** @param key 32 bytes; @param nonce 12 bytes (default zero). */
  constructor(key: Uint8Array, nonce: Uint8Array = new Uint8Array(12)) {
    if (key.length !== 32) throw new Error("ChaCha20 key must be 32 bytes");
    if (nonce.length !== 12) throw new Error("ChaCha20 nonce must be 12 bytes");
    this.key = Uint8Array.from(key);
    this.nonce = Uint8Array.from(nonce);
  }

  private refill(): void {
    this.counter += BLOCKS_PER_REFILL;
    chacha20(this.key, this.nonce, ZEROS, this.bytes, this.counter);
    this.pos = 0;
  }

  /** The next whole 64-byte keystream block as 16 little-endian words (skipping the rest of a partly read one). */
  nextBlock(): Uint32Array {
    this.pos = Math.ceil(this.pos / 16) * 16;
    return Uint32Array.from({ length: 16 }, () => this.nextUint32());
  }

  nextUint32(): number {
    if (this.pos * 4 >= this.bytes.length) this.refill();
    return this.words.getUint32(4 * this.pos++, true);
  }
}

const SEED_DOMAIN = "ercnn-key-seed/v1\u0000";

/** SHA-256 of bytes, via Web Crypto. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new Error("ercnn cipher: globalThis.crypto.subtle is not available on this platform");
  // Copy into a fresh ArrayBuffer-backed view (subtle rejects SharedArrayBuffer views).
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Uint8Array(await subtle.digest("SHA-256", copy));
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, "0");
  return s;
}

/** Seeded ChaCha20 source (see module doc), or the system CSPRNG when `seed` is undefined. */
export async function randomSource(seed?: string | number): Promise<RandomSource> {
  if (seed === undefined) return new SystemRandom();
  if (typeof seed === "number" && !Number.isFinite(seed)) throw new Error(`invalid seed: ${seed}`);
  const key = await sha256(new TextEncoder().encode(SEED_DOMAIN + String(seed)));
  return new ChaCha20Random(key);
}

/** Uniform double in [0, 1) from 53 random bits. */
export function nextDouble(rng: RandomSource): number {
  const a = rng.nextUint32() >>> 5; // 27 bits
  const b = rng.nextUint32() >>> 6; // 26 bits
  return (a * 67108864 + b) / 9007199254740992;
}

/** Standard normal via Box–Muller (one value per call; the pair's second value is discarded for simplicity). */
export function nextGaussian(rng: RandomSource): number {
  const u1 = 1 - nextDouble(rng); // (0, 1]
  const u2 = nextDouble(rng);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Uniform integer in [0, bound) without modulo bias (bound ≤ 2^32). */
export function nextInt(rng: RandomSource, bound: number): number {
  if (bound <= 0 || bound > 4294967296) throw new Error("nextInt: bound out of range");
  if ((bound & (bound - 1)) === 0 && bound <= 2 ** 31) return rng.nextUint32() & (bound - 1);
  const limit = 4294967296 - (4294967296 % bound);
  for (;;) {
    const x = rng.nextUint32();
    if (x < limit) return x % bound;
  }
}

/**
 * mulberry32: a tiny seeded PRNG yielding floats in [0, 1) from a 32-bit state. Fast and reproducible; NOT for
 * secrets (keys use ChaCha20 or the system CSPRNG). Shared by the attack's random starts and the data loader.
 */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
