/**
 * Keys in the study's numpy layout: a `.npy` array of shape (C, k², k²) (the study's `save_key`), any supported
 * dtype (float64, float32, uint8, int64). Mode defaults to "uniform" (the study's); pass `mode: "mod256"` for an
 * integer Hill key. The fingerprint is computed; createdAt is the load time.
 */

import { type NpyArray, readNpy, writeNpy } from "../core/npy.ts";
import { type CipherKey, KeyError, type KeyMode, makeKey } from "./key.ts";

export async function keyFromNpy(
  bytes: Uint8Array,
  source = "key .npy",
  opts: { mode?: KeyMode } = {},
): Promise<CipherKey> {
  const arr = readNpy(bytes, source);
  if (arr.shape.length !== 3) {
    throw new KeyError(`${source}: a key .npy must have shape (C, k², k²), got (${arr.shape.join(", ")})`);
  }
  const [c, n1, n2] = arr.shape;
  const k = Math.round(Math.sqrt(n1));
  if (n1 !== n2 || k * k !== n1 || c < 1 || k < 1) {
    throw new KeyError(
      `${source}: a key .npy must have shape (C, k², k²) with k² a perfect square, got (${arr.shape.join(", ")})`,
    );
  }
  const values =
    arr.data instanceof BigInt64Array ? Float64Array.from(arr.data, (v) => Number(v)) : Float64Array.from(arr.data);
  return makeKey({ mode: opts.mode ?? "uniform", blockSize: k, channels: c, values, source });
}

/** The key's values as a float64 `.npy` of shape (C, k², k²) (study layout; mode and fingerprint are not stored). */
export function keyToNpy(key: CipherKey): Uint8Array {
  if (key.scramble)
    throw new KeyError(
      "keyToNpy: this key has block scrambling, which a .npy of the matrices cannot hold; keep the JSON key file",
    );
  const n = key.blockSize * key.blockSize;
  const arr: NpyArray = { dtype: "float64", shape: [key.channels, n, n], data: Float64Array.from(key.values) };
  return writeNpy(arr);
}
