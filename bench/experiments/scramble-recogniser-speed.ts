// The recognisability classifier's cost and meaning, before/after (issue 13, part A of the scrambling task): trains
// it on N plain reference images and scores it on plaintexts, on lightly noised plaintexts (a good attack's
// decryption stand-in) and on pure noise (a failed attack), for one named setting.
//   node --import tsx bench/experiments/scramble-recogniser-speed.ts REFERENCE_STORE SECRET_STORE \
//        [--setting old|new] [--train 3000] [--eval 200]
import { parseArgs } from "node:util";
import { spreadPositions } from "../../src/audit/measure.ts";
import { type RecogniserConfig, recognisability } from "../../src/audit/recognisability.ts";
import { Store } from "../../src/data/index.ts";
import { storeLabels } from "../../src/train/labels.ts";

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    setting: { type: "string", default: "new" },
    train: { type: "string", default: "3000" },
    eval: { type: "string", default: "200" },
  },
});
const [refDir, secretDir] = positionals;
/** The settings compared: "old" is the default before this change (constant lr, full 32×32 input, 6 epochs). */
const SETTINGS: Record<string, Partial<RecogniserConfig>> = {
  old: { inputSide: 32, epochs: 6, lr: 2e-3, schedule: "constant" },
  new: {},
  "new-e8": { epochs: 8 },
  "new-one-cycle": { schedule: "one-cycle", lr: 4e-3 },
  "new-32px": { inputSide: 32 },
};
const config = SETTINGS[o.setting as string];
if (!config) throw new Error(`--setting must be one of ${Object.keys(SETTINGS).join(", ")}`);

function readSome(dir: string, n: number) {
  const s = Store.open(dir);
  const [c, h, w] = s.shape;
  const take = spreadPositions(s.count, n);
  const x = s.readPositions(take);
  const all = storeLabels(s);
  return { x, labels: Int32Array.from(take, (p) => all[p]), dims: { c, h, w } };
}

const train = readSome(refDir, Number(o.train));
const ev = readSome(secretDir, Number(o.eval));
let s = 7;
const gauss = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  const u = (s + 1) / 2 ** 32;
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  const v = s / 2 ** 32;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};
// σ = 0.05 on [0, 1] pixels is 26 dB PSNR: a decent attack; uniform noise is a failed one
const noisy = Float32Array.from(ev.x, (v) => v + 0.05 * gauss());
const noise = Float32Array.from(ev.x, () => (gauss() + 3) / 6);
for (const [name, dec] of [
  ["26 dB noisy plaintexts", noisy],
  ["pure noise", noise],
] as const) {
  const r = recognisability(train, ev.x, dec, ev.labels, { config });
  console.log(
    `${o.setting} ${name}: plain ${(100 * r.plainAccuracy).toFixed(1)}%, decrypted ${(100 * r.decryptedAccuracy).toFixed(1)}% ` +
      `(ratio ${r.ratio.toFixed(2)}, chance ${(100 * r.chance).toFixed(0)}%); ${r.trainImages} training images, ` +
      `${r.seconds.toFixed(0)} s`,
  );
}
