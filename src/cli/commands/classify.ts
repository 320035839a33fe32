import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { shortFingerprint } from "../../cipher/index.ts";
import { decodeImage, hwcU8ToChwF32 } from "../../data/decode.ts";
import { loadKey } from "../../data/keyfile.ts";
import { encryptStoreValues } from "../../data/store-cipher.ts";
import {
  classifyRemote,
  DEFAULT_CLIENT_TIMEOUT_MS,
  fetchModel,
  type Prediction,
  type RemoteModel,
} from "../../serve/client.ts";
import { positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";

export interface ClassifyCliOptions {
  server: string;
  model: string;
  key: string;
  top: number;
  batchSize?: number;
  resize?: number;
  crop?: number;
  json?: boolean;
  timeout?: number;
}

/** Refuses (before anything is sent) a key the model was not trained for. */
function checkKey(model: RemoteModel, key: { fingerprint: string; blockSize: number; channels: number }): void {
  const short = key.fingerprint.slice(0, 16);
  if (!model.keyFingerprint)
    throw new Error(
      `model '${model.name}' was trained on plain images, not on ciphertexts of key ${short}; nothing was sent`,
    );
  if (key.blockSize !== model.blockSize)
    throw new Error(
      `key ${short} has block size ${key.blockSize}, model '${model.name}' uses ${model.blockSize}; nothing was sent`,
    );
  if (key.fingerprint !== model.keyFingerprint)
    throw new Error(
      `key ${short} is not the key model '${model.name}' was trained for (${model.keyFingerprint.slice(0, 16)}); nothing was sent`,
    );
  if (key.channels !== model.shape[0])
    throw new Error(`key has ${key.channels} channels, the model takes ${model.shape[0]}; nothing was sent`);
}

/** Decodes, resizes/crops (as ercnn encrypt does), scales to [0, 1] CHW and encrypts images locally. */
async function encryptImages(
  paths: string[],
  model: RemoteModel,
  key: Parameters<typeof encryptStoreValues>[2],
  o: ClassifyCliOptions,
) {
  const [c, h, w] = model.shape;
  const decode = o.resize || o.crop ? { resize: o.resize, crop: o.crop } : model.decode;
  const plain = new Float32Array(paths.length * c * h * w);
  for (const [i, p] of paths.entries()) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(p));
    } catch (e) {
      throw new Error(`${p}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const img = await decodeImage(bytes, p, decode);
    if (img.h !== h || img.w !== w)
      throw new Error(
        `${p}: ${img.h}×${img.w} after ${JSON.stringify(decode)}, the model takes ${h}×${w} (use --resize/--crop)`,
      );
    hwcU8ToChwF32(img.data, h, w, plain, i * c * h * w);
  }
  return encryptStoreValues(plain, { n: paths.length, c, h, w, layout: "CHW" }, key);
}

export async function runClassify(images: string[], o: ClassifyCliOptions): Promise<void> {
  const key = await loadKey(o.key);
  const model = await fetchModel(o.server, o.model, o.timeout);
  checkKey(model, key);
  const batch = Math.min(o.batchSize ?? 32, model.maxBatch);
  const top = Math.min(o.top, model.classNames.length);
  const [c, h, w] = model.shape;
  const per = c * h * w;
  const results: Prediction[][] = [];
  const bar =
    o.json || images.length <= batch ? null : createProgress({ label: "classify", total: images.length, unit: "img" });
  for (let a = 0; a < images.length; a += batch) {
    const part = images.slice(a, a + batch);
    const x = await encryptImages(part, model, key, o);
    results.push(
      ...(await classifyRemote(
        o.server,
        model,
        x.subarray(0, part.length * per),
        part.length,
        top,
        undefined,
        o.timeout,
      )),
    );
    bar?.update(a + part.length, images.length);
  }
  bar?.stop();
  if (o.json) {
    const out = images.map((image, i) => ({ image, top: results[i] }));
    process.stdout.write(`${JSON.stringify({ model: model.name, key: shortFingerprint(key), results: out })}\n`);
    return;
  }
  const width = Math.max(5, ...images.map((s) => s.length));
  const lines = [`${"image".padEnd(width)}  top-${top} classes (probability)`];
  for (const [i, image] of images.entries())
    lines.push(
      `${image.padEnd(width)}  ${results[i].map((p) => `${p.label} ${(100 * p.probability).toFixed(1)}%`).join(", ")}`,
    );
  process.stdout.write(`${lines.join("\n")}\n`);
}

export function classifyCommand(): Command {
  return new Command("classify")
    .description(
      "classify images with a remote ercnn serve model: encrypts locally with your key, sends only ciphertexts",
    )
    .argument("<images...>", "image files (JPEG, PNG, WebP, any size)")
    .requiredOption("--server <url>", "the service, e.g. http://127.0.0.1:8000")
    .requiredOption("--model <name>", "model name on the server (see POST /v2/repository/index)")
    .requiredOption("-k, --key <file>", "your key file (never leaves this process; only its fingerprint is compared)")
    .option("--top <k>", "classes to show per image", positiveInteger, 3)
    .option(
      "-b, --batch-size <n>",
      "images per request (default 32, at most the model's max_batch_size)",
      positiveInteger,
    )
    .option(
      "--resize <n>",
      "resize the shorter side to n pixels, like ercnn encrypt (default: as the model's training store)",
      positiveInteger,
    )
    .option(
      "--crop <n>",
      "centre-crop to n×n after resizing, like ercnn encrypt (default: as the training store)",
      positiveInteger,
    )
    .option("--json", "print one JSON object instead of a table")
    .option(
      "--timeout <ms>",
      "give up on a request the server has not answered within this",
      positiveInteger,
      DEFAULT_CLIENT_TIMEOUT_MS,
    )
    .addHelpText(
      "after",
      "\nExample:\n  ercnn classify --server http://127.0.0.1:8000 --model cifar10-k4 --key key.json cat.jpg dog.png\n",
    )
    .action(async (images: string[], o: ClassifyCliOptions) => runClassify(images, o));
}
