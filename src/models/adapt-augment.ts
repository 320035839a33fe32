// Augmentation of the adaptation network's output, inside the model (training mode only).
//
// On ciphertexts only block-aligned shifts and block flips are valid augmentations (src/data/augment.ts). But once
// the adaptation network decrypts — e.g. started from the ciphertext-only attack's key estimate
// (`--adapt-init attack`) — its output is (close to) the plaintext, and the usual CIFAR augmentation (horizontal flip,
// random crop with zero padding) is valid there: it is applied to what the backbone sees, per sample, after the
// adaptation. Random draws come from libtorch's generator, which the trainer seeds per epoch (resumable runs stay
// exact).
import { aten, cat, F, rand, stack, type Tensor, tidy } from "../torch/index.ts";

export type AdaptAugment = "none" | "flip-crop" | "flip-translate";
export const ADAPT_AUGMENTS: readonly AdaptAugment[] = ["none", "flip-crop", "flip-translate"];
/**
 * Test-time augmentation in eval mode: "flip" averages the logits of the adaptation output and of its mirror;
 * "six-view" adds one-pixel shifts of both (airbench-augment.ts).
 */
export type TestTimeAugment = "none" | "flip" | "six-view";
export const TEST_TIME_AUGMENTS: readonly TestTimeAugment[] = ["none", "flip", "six-view"];

const flip = aten<Tensor>("aten::flip");

/** x with its horizontal mirror appended along the batch: [x; flip(x)] (2B samples). */
export function withMirror(x: Tensor): Tensor {
  return tidy(() => cat([x, flip(x, [3])], 0));
}

/** Mean of the two halves of 2B logits produced from withMirror's batch. */
export function meanOfHalves(logits: Tensor): Tensor {
  return tidy(() => {
    const b = logits.shape[0] / 2;
    return logits
      .narrow(0, 0, b)
      .add(logits.narrow(0, b, b))
      .mul(0.5);
  });
}

/** The offset in [0, span) that a uniform draw u in [0, 1) picks. */
export function windowOffset(u: number, span: number): number {
  return Math.min(span - 1, Math.floor(u * span));
}

/**
 * One h×w window per sample, at `at(i)` = (dy, dx), stacked into a batch. `samples` are per-sample views (unbind), so
 * their gradients meet in one backward node; `x.narrow(0, i, 1)` per sample would make each sample's backward fill a
 * zero tensor the size of the whole batch (2.7 s a step at a batch of 512 on 64×64 images, bench/augment-backward.ts).
 */
export function stackWindows(samples: Tensor[], at: (i: number) => [number, number], h: number, w: number): Tensor {
  return stack(
    samples.map((s, i) => {
      const [dy, dx] = at(i);
      return s.narrow(1, dy, h).narrow(2, dx, w);
    }),
    0,
  );
}

/** Per sample: mirror horizontally with probability ½, then crop back to H×W from the image zero-padded by `pad`. */
export function flipCrop(x: Tensor, pad = 4): Tensor {
  return tidy(() => {
    const [b, , h, w] = x.shape;
    const r = rand([b, 3]).toArray();
    const padded = pad > 0 ? F.pad(x, [pad, pad, pad, pad]) : x;
    const mirrored = flip(padded, [3]);
    const span = 2 * pad + 1;
    const plain = padded.unbind(0);
    const flipped = mirrored.unbind(0);
    const samples = plain.map((p, i) => (r[3 * i] < 0.5 ? flipped[i] : p));
    return stackWindows(samples, (i) => [windowOffset(r[3 * i + 1], span), windowOffset(r[3 * i + 2], span)], h, w);
  });
}
