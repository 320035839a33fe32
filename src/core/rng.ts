/**
 * Random sources for key generation.
 *
 * - Unseeded: bytes come straight from the platform CSPRNG, `globalThis.crypto.getRandomValues`
 *   (Web Crypto; available in browsers and Node ≥ 19).
 * - Seeded (reproducible experiments): ChaCha20 (RFC 8439 block function, 20 rounds) used as a stream
 *   generator. The 256-bit ChaCha key is SHA-256 of the UTF-8 seed string (`String(seed)`, so the number 7 and
 *   the string "7" give the same stream) with domain separation `"ercnn-key-seed/v1\0"`; nonce = 0,
 *   block counter starting at 0. Same seed → same key bytes on every platform.
 *
 * Derived values: uniform doubles use 53 random bits (`[0,1)`), normals use Box–Muller on uniforms in (0,1].
 */

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

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

/** ChaCha20 keystream as a deterministic random source. */
export class ChaCha20Random implements RandomSource {
  private readonly state = new Uint32Array(16);
  private readonly block = new Uint32Array(16);
  private pos = 16;

  /** @param key 32 bytes; @param nonce 12 bytes (default zero). */
  constructor(key: Uint8Array, nonce: Uint8Array = new Uint8Array(12)) {
    if (key.length !== 32) throw new Error("ChaCha20 key must be 32 bytes");
    if (nonce.length !== 12) throw new Error("ChaCha20 nonce must be 12 bytes");
    const s = this.state;
    s[0] = 0x61707865;
    s[1] = 0x3320646e;
    s[2] = 0x79622d32;
    s[3] = 0x6b206574;
    const kv = new DataView(key.buffer, key.byteOffset, 32);
    for (let i = 0; i < 8; i++) s[4 + i] = kv.getUint32(i * 4, true);
    s[12] = 0;
    const nv = new DataView(nonce.buffer, nonce.byteOffset, 12);
    for (let i = 0; i < 3; i++) s[13 + i] = nv.getUint32(i * 4, true);
  }

  /** Produces the next 64-byte keystream block (as 16 little-endian words) and advances the counter. */
  nextBlock(): Uint32Array {
    const s = this.state;
    let x0 = s[0],
      x1 = s[1],
      x2 = s[2],
      x3 = s[3],
      x4 = s[4],
      x5 = s[5],
      x6 = s[6],
      x7 = s[7],
      x8 = s[8],
      x9 = s[9],
      x10 = s[10],
      x11 = s[11],
      x12 = s[12],
      x13 = s[13],
      x14 = s[14],
      x15 = s[15];
    for (let r = 0; r < 10; r++) {
      // column rounds
      x0 = (x0 + x4) | 0;
      x12 = rotl(x12 ^ x0, 16);
      x8 = (x8 + x12) | 0;
      x4 = rotl(x4 ^ x8, 12);
      x0 = (x0 + x4) | 0;
      x12 = rotl(x12 ^ x0, 8);
      x8 = (x8 + x12) | 0;
      x4 = rotl(x4 ^ x8, 7);
      x1 = (x1 + x5) | 0;
      x13 = rotl(x13 ^ x1, 16);
      x9 = (x9 + x13) | 0;
      x5 = rotl(x5 ^ x9, 12);
      x1 = (x1 + x5) | 0;
      x13 = rotl(x13 ^ x1, 8);
      x9 = (x9 + x13) | 0;
      x5 = rotl(x5 ^ x9, 7);
      x2 = (x2 + x6) | 0;
      x14 = rotl(x14 ^ x2, 16);
      x10 = (x10 + x14) | 0;
      x6 = rotl(x6 ^ x10, 12);
      x2 = (x2 + x6) | 0;
      x14 = rotl(x14 ^ x2, 8);
      x10 = (x10 + x14) | 0;
      x6 = rotl(x6 ^ x10, 7);
      x3 = (x3 + x7) | 0;
      x15 = rotl(x15 ^ x3, 16);
      x11 = (x11 + x15) | 0;
      x7 = rotl(x7 ^ x11, 12);
      x3 = (x3 + x7) | 0;
      x15 = rotl(x15 ^ x3, 8);
      x11 = (x11 + x15) | 0;
      x7 = rotl(x7 ^ x11, 7);
      // diagonal rounds
      x0 = (x0 + x5) | 0;
      x15 = rotl(x15 ^ x0, 16);
      x10 = (x10 + x15) | 0;
      x5 = rotl(x5 ^ x10, 12);
      x0 = (x0 + x5) | 0;
      x15 = rotl(x15 ^ x0, 8);
      x10 = (x10 + x15) | 0;
      x5 = rotl(x5 ^ x10, 7);
      x1 = (x1 + x6) | 0;
      x12 = rotl(x12 ^ x1, 16);
      x11 = (x11 + x12) | 0;
      x6 = rotl(x6 ^ x11, 12);
      x1 = (x1 + x6) | 0;
      x12 = rotl(x12 ^ x1, 8);
      x11 = (x11 + x12) | 0;
      x6 = rotl(x6 ^ x11, 7);
      x2 = (x2 + x7) | 0;
      x13 = rotl(x13 ^ x2, 16);
      x8 = (x8 + x13) | 0;
      x7 = rotl(x7 ^ x8, 12);
      x2 = (x2 + x7) | 0;
      x13 = rotl(x13 ^ x2, 8);
      x8 = (x8 + x13) | 0;
      x7 = rotl(x7 ^ x8, 7);
      x3 = (x3 + x4) | 0;
      x14 = rotl(x14 ^ x3, 16);
      x9 = (x9 + x14) | 0;
      x4 = rotl(x4 ^ x9, 12);
      x3 = (x3 + x4) | 0;
      x14 = rotl(x14 ^ x3, 8);
      x9 = (x9 + x14) | 0;
      x4 = rotl(x4 ^ x9, 7);
    }
    const b = this.block;
    b[0] = x0 + s[0];
    b[1] = x1 + s[1];
    b[2] = x2 + s[2];
    b[3] = x3 + s[3];
    b[4] = x4 + s[4];
    b[5] = x5 + s[5];
    b[6] = x6 + s[6];
    b[7] = x7 + s[7];
    b[8] = x8 + s[8];
    b[9] = x9 + s[9];
    b[10] = x10 + s[10];
    b[11] = x11 + s[11];
    b[12] = x12 + s[12];
    b[13] = x13 + s[13];
    b[14] = x14 + s[14];
    b[15] = x15 + s[15];
    s[12] = (s[12] + 1) >>> 0;
    if (s[12] === 0) s[13] = (s[13] + 1) >>> 0; // 64-bit counter extension; never reached in practice
    return b;
  }

  nextUint32(): number {
    if (this.pos >= 16) {
      this.nextBlock();
      this.pos = 0;
    }
    return this.block[this.pos++];
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
