// BlockResNet: a ResNet for encrypted images whose stem is a k×k, stride-k "patchify" convolution aligned with the
// cipher's k×k blocks, so that everything after it works on whole blocks (tokens on an H/k × W/k grid).
//
// Why this shape: ercnn's block cipher applies the same unknown linear map K to every aligned block. A network whose
// first operation on each block is linear and block-local (the adaptation conv, the deconv that lays it out, and this
// stem compose to one per-block linear map) can absorb K exactly, and every later layer sees the same tokens for a
// plaintext and its ciphertext up to that map: the family is encryption-invariant by construction. A pixel-level
// backbone (3×3 convs at full resolution, e.g. ResNet-20) instead assumes that all pixel positions inside a block are
// alike (weight sharing), which holds for the plaintext and not for the adaptation output of a learned, non-decrypting
// adaptation: on ciphertext it fits the training set as well as on plaintext but generalises worse.
//
// Layout (the stages of ResNet-9 / airbench from the 8×8 grid on, after David Page's "How to Train Your ResNet"):
//   stem: Conv(3→w1, k, stride k, no bias)-BN-ReLU  →  layer1: `blocks1` × Residual(w1)
//   → layer2: ConvBN(w1→w2), MaxPool 2, `blocks2` × Residual(w2)  →  global max pool → fc (no bias) × scale.
// Names follow ResNet-9's (prep/layer1/layer2/fc) so weights and frozen parts read the same way.
import { nn, type Tensor } from "../torch/index.ts";
import { ConvBN, MaxPoolHeadNet, Residual } from "./cifar-fast.ts";

export interface BlockResNetOptions {
  numClasses?: number;
  /** Stem kernel and stride: the cipher block size (4 for CIFAR-10, 8 for 224×224 / Tiny-ImageNet presets). */
  patchSize?: number;
  widths?: [number, number];
  blocks?: [number, number];
  /** Multiplier on the logits (Page: 0.125). */
  scale?: number;
}

export class BlockResNet extends MaxPoolHeadNet {
  readonly family = "block-resnet";
  readonly patchSize: number;

  constructor(o: BlockResNetOptions = {}) {
    const k = o.patchSize ?? 4;
    const [w1, w2] = o.widths ?? [128, 256];
    const [n1, n2] = o.blocks ?? [2, 2];
    if (!Number.isInteger(k) || k < 1) throw new Error(`BlockResNet: bad patch size ${k}`);
    super(["prep", "layer1", "layer2"], w2, o.scale ?? 0.125);
    this.patchSize = k;
    this.registerModule(
      "prep",
      new nn.Sequential(new nn.Conv2d(3, w1, k, { stride: k, bias: false }), new nn.BatchNorm2d(w1), new nn.ReLU()),
    );
    this.registerModule("layer1", new nn.Sequential(...Array.from({ length: n1 }, () => new Residual(w1))));
    this.registerModule(
      "layer2",
      new nn.Sequential(new ConvBN(w1, w2), new nn.MaxPool2d(2), ...Array.from({ length: n2 }, () => new Residual(w2))),
    );
    this.registerModule("fc", new nn.Linear(w2, o.numClasses ?? 10, { bias: false }));
  }

  override forward(x: Tensor): Tensor {
    const k = this.patchSize;
    if (x.shape[2] % k || x.shape[3] % k)
      throw new Error(`BlockResNet: input ${x.shape[2]}×${x.shape[3]} is not a multiple of the ${k}×${k} blocks`);
    return super.forward(x);
  }
}
