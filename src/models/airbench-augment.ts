// airbench's augmentation and test-time views, on the adaptation's output (the decrypted image; on raw ciphertexts
// only block-aligned moves are valid, src/data/augment.ts):
// - alternating flip: each training image has a fixed random mirror bit, inverted every other epoch, so every image
//   is seen mirrored in exactly half of the epochs (less repetition than independent coin flips);
// - translate: up to `pad` pixels in each direction, from the image reflect-padded by `pad` (no black borders);
// - six test views: the image and its mirror, each as is and shifted one pixel up-left and down-right; logits
//   weighted ½ for the unshifted pair and ¼ for each shifted pair.
import { aten, cat, fromTypedArray, rand, type Tensor, tidy } from "../torch/index.ts";
import { stackWindows, windowOffset } from "./adapt-augment.ts";

const flip = aten<Tensor>("aten::flip");
const reflectionPad = aten<Tensor>("aten::reflection_pad2d");
const where = aten<Tensor>("aten::where", "self");

/** The fixed mirror bit of training image `id` under `seed` (a stateless hash: the same in every epoch and run). */
export function mirrorBit(seed: number, id: number): boolean {
  let h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 16;
  return (h & 1) === 1;
}

/** n independent fair coin flips from libtorch's (seeded) generator: mirror bits when no image ids are at hand. */
export function coinFlips(n: number): boolean[] {
  return tidy(() => rand([n]).toArray()).map((v) => v < 0.5);
}

/** Per sample: mirror where `mirror[i]`, then shift by a random offset in [−pad, pad]² of the reflect-padded image. */
export function flipTranslate(x: Tensor, mirror: readonly boolean[], pad = 2): Tensor {
  return tidy(() => {
    const [b, , h, w] = x.shape;
    if (mirror.length !== b) throw new Error(`flipTranslate: ${mirror.length} mirror bits for a batch of ${b}`);
    const mask = fromTypedArray(
      Uint8Array.from(mirror, (m) => (m ? 1 : 0)),
      [b, 1, 1, 1],
      { dtype: "bool" },
    );
    const flipped = where(mask.to(x.device), flip(x, [3]), x);
    if (pad === 0) return flipped.clone();
    const padded = reflectionPad(flipped, [pad, pad, pad, pad]);
    const r = rand([b, 2]).toArray();
    const span = 2 * pad + 1;
    return stackWindows(
      padded.unbind(0),
      (i) => [windowOffset(r[2 * i], span), windowOffset(r[2 * i + 1], span)],
      h,
      w,
    );
  });
}

/** The six test views of a batch, stacked along the batch: [x, mirror, up-left, its mirror, down-right, its mirror]. */
export function sixViews(x: Tensor): Tensor {
  return tidy(() => {
    const [, , h, w] = x.shape;
    const p = reflectionPad(x, [1, 1, 1, 1]);
    const ul = p.narrow(2, 0, h).narrow(3, 0, w);
    const dr = p.narrow(2, 2, h).narrow(3, 2, w);
    return cat([x, flip(x, [3]), ul, flip(ul, [3]), dr, flip(dr, [3])], 0);
  });
}

/** airbench's weighting of sixViews' 6B logits: ½·mean(x, mirror) + ¼·mean(shifted up-left pair, down-right pair). */
export function sixViewMean(logits: Tensor): Tensor {
  return tidy(() => {
    const b = logits.shape[0] / 6;
    const v = (i: number) => logits.narrow(0, i * b, b);
    const plain = v(0).add(v(1)).mul(0.25);
    return plain.add(v(2).add(v(3)).add(v(4)).add(v(5)).mul(0.125));
  });
}
