// airbench's flip + translate on the adaptation network's output when the adaptation trains (multi-round, or any
// trained adaptation with --adapt-augment flip-translate): forward + backward of the augmentation alone, per batch of
// 3×64×64 images (tiny50), ercnn (src/models/airbench-augment.ts) vs the same augmentation in Debian's PyTorch, side by
// side in one run, both with libtorch's default threads. Two ways to take each sample's window:
//   unbind: the batch unbound into per-sample views, a window of each, stacked (what ercnn does);
//   narrow: x[i:i+1] per sample, then cat (what ercnn did): each sample's backward fills a zero gradient the size of
//           the whole batch, so the cost grows with the batch's square.
// Times are the best of --rounds; ratio = ercnn / PyTorch.
//   node --import tsx bench/augment-backward.ts [--batches 32,128,512] [--rounds 3]
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { flipTranslate } from "../src/models/index.ts";
import { aten, cat, getNumThreads, rand, randn, type Tensor, tidy } from "../src/torch/index.ts";

const { values: a } = parseArgs({
  options: { batches: { type: "string", default: "32,128,512" }, rounds: { type: "string", default: "3" } },
});
const batches = a.batches.split(",").map(Number);
const rounds = Number(a.rounds);
const reflectionPad = aten<Tensor>("aten::reflection_pad2d");

/** The old way: mirror (flipTranslate with no shift), reflect-pad 2, then x[i:i+1] windows joined by cat. */
function narrowWay(x: Tensor, mirror: boolean[], pad = 2): Tensor {
  return tidy(() => {
    const [b, , h, w] = x.shape;
    const padded = reflectionPad(flipTranslate(x, mirror, 0), [pad, pad, pad, pad]);
    const r = rand([b, 2]).toArray();
    const span = 2 * pad + 1;
    const parts: Tensor[] = [];
    for (let i = 0; i < b; i++) {
      const dy = Math.min(span - 1, Math.floor(r[2 * i] * span));
      const dx = Math.min(span - 1, Math.floor(r[2 * i + 1] * span));
      parts.push(padded.narrow(0, i, 1).narrow(2, dy, h).narrow(3, dx, w));
    }
    return cat(parts, 0);
  });
}

/** Best milliseconds of forward + backward of `f` on a [b, 3, 64, 64] batch that wants its gradient. */
function best(f: (x: Tensor, mirror: boolean[]) => Tensor, b: number): number {
  const mirror = Array.from({ length: b }, (_, i) => i % 3 === 0);
  let t = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++)
    tidy(() => {
      const x = randn([b, 3, 64, 64]).requiresGrad_();
      const t0 = performance.now();
      f(x, mirror).sum().backward();
      t = Math.min(t, performance.now() - t0);
    });
  return t;
}

const py = spawnSync(
  "/usr/bin/python3",
  [new URL("augment_backward_torch.py", import.meta.url).pathname, JSON.stringify(batches), String(rounds)],
  { encoding: "utf8" },
);
if (py.status !== 0) throw new Error(`augment_backward_torch.py failed: ${py.stderr}`);
const torchMs = new Map<string, number>();
for (const line of py.stdout.trim().split("\n")) {
  const r = JSON.parse(line) as { batch: number; way: string; ms: number };
  torchMs.set(`${r.batch}:${r.way}`, r.ms);
}

console.log(`flip + translate forward + backward, 3×64×64; libtorch threads ${getNumThreads()}; best of ${rounds}, ms`);
console.log("batch | way    | ercnn  | PyTorch | ratio | ercnn ms per image");
for (const b of batches)
  for (const [way, f] of [
    ["unbind", flipTranslate],
    ["narrow", narrowWay],
  ] as const) {
    const ours = best(f, b);
    const theirs = torchMs.get(`${b}:${way}`)!;
    console.log(
      `${String(b).padStart(5)} | ${way} | ${ours.toFixed(1).padStart(6)} | ${theirs.toFixed(1).padStart(7)} | ` +
        `${(ours / theirs).toFixed(2)}× | ${(ours / b).toFixed(3)}`,
    );
  }
