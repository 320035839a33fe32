// The attack's calibrated reliability at k = 4 (reliability.ts): per key, a good search (ATTACK_DEFAULTS), a starved
// one (1 start, 40 evaluations, no retries) and one stopped early (2 starts of 4 evaluations): each channel's
// second-order mismatch over the reference-halves noise floor, its reliable flag and the decryption PSNR. Synthetic smooth colour images (test/audit/images.ts):
// the secret set and the reference are different draws.
//   node --import tsx bench/experiments/attack-reliability.ts [--keys 4] [--images 400]
import { parseArgs } from "node:util";
import { BlockMoments, psnr, statisticalAttack, torchLinalg } from "../../src/attack/index.ts";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import { smoothImages } from "../../test/audit/images.ts";

const { values: a } = parseArgs({
  options: { keys: { type: "string", default: "4" }, images: { type: "string", default: "400" } },
});
const [k, c, size, count] = [4, 3, 32, Number(a.images)];
const dims = (n: number) => ({ n, c, h: size, w: size, layout: "CHW" as const });
const ref = smoothImages(count, c, size, 1);
const per = c * size * size;
const half = Math.ceil(count / 2);
const halves = [
  new BlockMoments(k, c).add(ref.subarray(0, half * per), dims(half)),
  new BlockMoments(k, c).add(ref.subarray(half * per), dims(count - half)),
] as const;
const plain = new BlockMoments(k, c).merge(halves[0]).merge(halves[1]);
const secret = smoothImages(count, c, size, 2);
for (let i = 0; i < Number(a.keys); i++) {
  const key = await generateKey({ blockSize: k, seed: `reliability-${i}` });
  const cipher = encrypt(secret, dims(count), key);
  const cm = new BlockMoments(k, c).add(cipher, dims(count));
  for (const [name, o] of [
    ["defaults", {}],
    ["starved", { restarts: 1, iterations: 40, retries: 0 }],
    ["stopped", { restarts: 2, iterations: 4, retries: 0 }],
  ] as const) {
    const r = statisticalAttack(cm, plain, { ...o, plainHalves: halves, linalg: torchLinalg, seed: i + 1 });
    const dec = encrypt(cipher, dims(count), { ...key, values: r.inverse }).map((v) => Math.min(1, Math.max(0, v)));
    const ratios = r.channelReports.map((q) => (q.secondOrderMismatch / (q.noiseFloor ?? Number.NaN)).toFixed(2));
    console.log(
      `key ${i} ${name.padEnd(8)} ${psnr(dec, secret).toFixed(2)} dB  mismatch/floor ${ratios.join(" ")}  ` +
        `reliable ${r.channelReports.map((q) => (q.reliable ? "y" : "n")).join("")}`,
    );
  }
}
