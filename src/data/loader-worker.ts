/**
 * Worker side of the data pool. Two kinds of task:
 *  - "encode": decode a chunk of source items (JPEG/PNG/WebP via sharp, CIFAR records, study .npy), scale to [0,1]
 *    CHW float32 and encrypt with the key from workerData (or leave plain); returns the chunk, transferred.
 *  - "batch": gather a batch from the store arrays shared through SharedArrayBuffer, augment, normalise; returns it,
 *    transferred.
 */
import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import type { SchemeKey } from "../cipher/schemes/index.ts";
import { type AugmentParams, drawAugment, translate } from "./augment.ts";
import { chwU8ToF32, type DecodeOptions, decodeImage, hwcU8ToChwF32 } from "./decode.ts";
import { BadImageError } from "./errors.ts";
import { makeRng } from "./rng.ts";
import type { SourceItem } from "./source.ts";
import { readStudyItem } from "./study-layout.ts";

export interface EncodeWorkerData {
  role: "encode";
  key: SchemeKey | null;
  decode: DecodeOptions;
  shape: [number, number, number];
  skipBad: boolean;
}

export interface LoaderWorkerData {
  role: "loader";
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number];
  norm: { mean: number[]; std: number[] } | null;
  augment: AugmentParams;
  seed: string | number;
}

type Data = EncodeWorkerData | LoaderWorkerData;
const data = workerData as Data;

let storeCipher: typeof import("./store-cipher.ts") | null = null;
async function getStoreCipher() {
  storeCipher ??= await import("./store-cipher.ts");
  return storeCipher;
}

async function encodeChunk(packed: (SourceItem & { off?: number; len?: number; kind?: string })[], blob?: Uint8Array) {
  const items: SourceItem[] = packed.map((it) => {
    if (!blob || it.off === undefined) return it;
    const view = blob.subarray(it.off, it.off + it.len!);
    return it.kind === "chw" ? { ...it, chw: view } : { ...it, bytes: view };
  });
  const d = data as EncodeWorkerData;
  const [c, h, w] = d.shape;
  const per = c * h * w;
  const plain = new Float32Array(items.length * per);
  const labels = new Int32Array(items.length);
  const skipped: { name: string; reason: string }[] = [];
  const transparent: string[] = [];
  const ok = new Uint8Array(items.length);
  let next = 0;
  const one = async (i: number) => {
    const it = items[i];
    const off = i * per;
    if (it.chw) {
      chwU8ToF32(it.chw, plain, off);
    } else if (it.npyPath) {
      const s = readStudyItem(it.npyPath);
      if (s.h !== h || s.w !== w) throw new BadImageError(it.name, `size ${s.h}×${s.w}, expected ${h}×${w}`);
      plain.set(s.data, off);
    } else {
      let bytes = it.bytes;
      if (!bytes) {
        try {
          bytes = readFileSync(it.path!);
        } catch (e) {
          throw new BadImageError(it.name, (e as Error).message);
        }
      }
      const img = await decodeImage(bytes, it.name, d.decode);
      if (img.transparent) transparent.push(it.name);
      if (img.h !== h || img.w !== w)
        throw new BadImageError(
          it.name,
          `size ${img.h}×${img.w} differs from the dataset's ${h}×${w} (use --resize/--crop to make sizes equal)`,
        );
      hwcU8ToChwF32(img.data, h, w, plain, off);
    }
    ok[i] = 1;
  };
  const runner = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        await one(i);
      } catch (e) {
        if (d.skipBad && e instanceof BadImageError) skipped.push({ name: e.file, reason: e.reason });
        else throw e;
      }
    }
  };
  await Promise.all([runner(), runner(), runner(), runner()]);
  // Compact away skipped images.
  let n = 0;
  for (let i = 0; i < items.length; i++) {
    if (!ok[i]) continue;
    if (n !== i) plain.copyWithin(n * per, i * per, (i + 1) * per);
    labels[n] = items[i].label;
    n++;
  }
  let x: Float32Array = n === items.length ? plain : plain.slice(0, n * per);
  const isStudy = items.length > 0 && items[0].npyPath !== undefined;
  if (d.key && n > 0 && !isStudy) {
    const sc = await getStoreCipher();
    x = sc.encryptStoreValues(x, { n, c, h, w, layout: "CHW" }, d.key);
  }
  return { x, labels: labels.slice(0, n), n, skipped, transparent };
}

function makeBatch(indices: Int32Array, epoch: number, batchIndex: number) {
  const d = data as LoaderWorkerData;
  const [c, h, w] = d.shape;
  const per = c * h * w;
  const n = indices.length;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  const rng = makeRng(d.seed, 0x5a17, epoch, batchIndex);
  const aug = d.augment.mode !== "none";
  for (let i = 0; i < n; i++) {
    const src = indices[i];
    y[i] = d.y[src];
    if (!aug) {
      x.set(d.x.subarray(src * per, (src + 1) * per), i * per);
    } else {
      const a = drawAugment(d.augment, rng);
      translate(d.x, src * per, x, i * per, c, h, w, a.dy, a.dx, a.flip, a.flipBlock);
    }
  }
  if (d.norm) {
    const hw = h * w;
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        const m = d.norm.mean[ch];
        const inv = 1 / d.norm.std[ch];
        const off = (i * c + ch) * hw;
        for (let j = 0; j < hw; j++) x[off + j] = (x[off + j] - m) * inv;
      }
    }
  }
  return { x, y, n };
}

function errorPayload(e: unknown) {
  const err = e as Error & { code?: string; file?: string; reason?: string };
  return { message: err.message, name: err.name, code: err.code, file: err.file, reason: err.reason };
}

parentPort!.on("message", async (m: { id: number; type: string; [k: string]: any }) => {
  try {
    if (m.type === "encode") {
      const r = await encodeChunk(m.items, m.blob);
      parentPort!.postMessage({ id: m.id, ok: true, result: r }, [
        r.x.buffer as ArrayBuffer,
        r.labels.buffer as ArrayBuffer,
      ]);
    } else if (m.type === "batch") {
      const r = makeBatch(m.indices, m.epoch, m.batchIndex);
      parentPort!.postMessage({ id: m.id, ok: true, result: r }, [r.x.buffer, r.y.buffer]);
    } else {
      throw new Error(`unknown task ${m.type}`);
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, error: errorPayload(e) });
  }
});
