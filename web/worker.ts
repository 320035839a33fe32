/**
 * The page's Web Worker: decodes images (createImageBitmap + OffscreenCanvas), brings them to the model's input
 * (preprocess.ts), encrypts them with the key the page handed over (src/cipher, WebAssembly SIMD when available),
 * and writes dataset exports as a tar Blob built chunk by chunk (Blob parts live in the browser's blob store, which
 * spills to disk, not in this worker's heap). Nothing here touches the network.
 */
import type { CipherKey } from "../src/cipher/index.ts";
import { writeNpy } from "../src/core/npy.ts";
import { encryptStoreValues } from "../src/data/store-cipher.ts";
import { type DecodeOptions, preprocess, type RgbImage, rgbaToRgb, toChwUnit } from "./preprocess.ts";
import { tarEnd, tarMember } from "./tar.ts";

export interface EncryptRequest {
  type: "encrypt";
  id: number;
  files: File[];
  decode: DecodeOptions;
  shape: [number, number, number];
}

export interface ExportItem {
  file: File;
  /** Path shown in messages, e.g. "cats/001.jpg". */
  name: string;
  label: number;
}

export interface ExportRequest {
  type: "export";
  id: number;
  items: ExportItem[];
  classes: string[];
  decode: DecodeOptions;
  split: "train" | "test";
  skipBad: boolean;
}

export type WorkerRequest =
  | { type: "key"; key: CipherKey | null }
  | EncryptRequest
  | ExportRequest
  | { type: "cancel"; id: number };

export interface EncryptedImage {
  name: string;
  /** Model-size plaintext, RGB HWC (for the preview only; never sent). */
  plain: Uint8Array;
  /** Store values (ciphertexts), CHW float32: what is sent. */
  cipher: Float32Array;
  /** Ciphertext scaled per channel to 0-255 for display, RGB HWC. */
  cipherView: Uint8Array;
}

export type WorkerReply =
  | { type: "encrypted"; id: number; images: EncryptedImage[]; errors: { name: string; reason: string }[] }
  | { type: "progress"; id: number; done: number; total: number; seconds: number }
  | {
      type: "exported";
      id: number;
      blob: Blob;
      count: number;
      skipped: { name: string; reason: string }[];
      seconds: number;
      /** Seconds spent decoding + resizing, encrypting, and writing .npy/tar parts. */
      timing: { decode: number; encrypt: number; pack: number };
    }
  | { type: "error"; id: number; message: string };

let key: CipherKey | null = null;
const cancelled = new Set<number>();

export async function decodeFile(file: Blob, name: string): Promise<RgbImage> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new Error(`${name}: not a decodable JPEG/PNG/WebP image`);
  }
  const { width: w, height: h } = bmp;
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new Error("no 2D canvas in this browser");
  ctx.drawImage(bmp, 0, 0);
  bmp.close();
  return rgbaToRgb(ctx.getImageData(0, 0, w, h).data, h, w);
}

/** Decode + resize/crop + check the size; returns the model-size RGB image. */
async function load(file: Blob, name: string, decode: DecodeOptions, shape: [number, number, number]) {
  const img = preprocess(await decodeFile(file, name), decode, name);
  if (img.h !== shape[1] || img.w !== shape[2]) {
    throw new Error(
      `${name}: size ${img.h}×${img.w} after resize/crop differs from the model's ${shape[1]}×${shape[2]} (set resize and crop)`,
    );
  }
  return img;
}

function encryptImages(imgs: RgbImage[], shape: [number, number, number]): Float32Array {
  if (!key) throw new Error("no key: generate or load one first");
  const [c, h, w] = shape;
  const x = new Float32Array(imgs.length * c * h * w);
  for (const [i, img] of imgs.entries()) toChwUnit(img, x, i * c * h * w);
  return encryptStoreValues(x, { n: imgs.length, c, h, w, layout: "CHW" }, key);
}

/** Per-channel min-max scaling of one CHW ciphertext to RGB HWC bytes (what the provider's values look like). */
function viewOf(x: Float32Array, h: number, w: number): Uint8Array {
  const hw = h * w;
  const out = new Uint8Array(hw * 3);
  for (let c = 0; c < 3; c++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < hw; i++) {
      const v = x[c * hw + i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const s = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < hw; i++) out[i * 3 + c] = Math.round((x[c * hw + i] - lo) * s);
  }
  return out;
}

async function onEncrypt(r: EncryptRequest): Promise<WorkerReply> {
  const [c, h, w] = r.shape;
  const per = c * h * w;
  const imgs: RgbImage[] = [];
  const names: string[] = [];
  const errors: { name: string; reason: string }[] = [];
  for (const f of r.files) {
    try {
      imgs.push(await load(f, f.name, r.decode, r.shape));
      names.push(f.name);
    } catch (e) {
      errors.push({ name: f.name, reason: (e as Error).message });
    }
  }
  const x = imgs.length ? encryptImages(imgs, r.shape) : new Float32Array(0);
  const images = imgs.map((img, i) => {
    const cipher = x.slice(i * per, (i + 1) * per);
    return { name: names[i], plain: img.data, cipher, cipherView: viewOf(cipher, h, w) };
  });
  return { type: "encrypted", id: r.id, images, errors };
}

/** CHW float32 → the study's H×W×3 float32 `.npy`. */
function studyNpy(x: Float32Array, off: number, h: number, w: number): Uint8Array {
  const hw = h * w;
  const hwc = new Float32Array(hw * 3);
  for (let i = 0; i < hw; i++) for (let c = 0; c < 3; c++) hwc[i * 3 + c] = x[off + c * hw + i];
  return writeNpy({ dtype: "float32", shape: [h, w, 3], data: hwc });
}

const CHUNK = 64;

/** The dataset's image shape: the crop, else the first decodable image's size (as `ercnn encrypt` probes it). */
async function exportShape(r: ExportRequest): Promise<[number, number, number]> {
  let size: { h: number; w: number } | null = r.decode.crop ? { h: r.decode.crop, w: r.decode.crop } : null;
  for (const it of r.items) {
    if (size) break;
    try {
      size = preprocess(await decodeFile(it.file, it.name), r.decode, it.name);
    } catch (e) {
      if (!r.skipBad) throw e;
    }
  }
  if (!size) throw new Error("no image could be read");
  const k = key!.blockSize;
  if (size.h % k || size.w % k)
    throw new Error(
      `image size ${size.h}×${size.w} is not a multiple of the key's block size ${k}: set resize/crop to a multiple of ${k}`,
    );
  return [3, size.h, size.w];
}

async function onExport(r: ExportRequest, post: (m: WorkerReply) => void): Promise<WorkerReply> {
  if (!key) throw new Error("no key: generate or load one first");
  const t0 = performance.now();
  const shape = await exportShape(r);
  const [, h, w] = shape;
  const per = 3 * h * w;
  const parts: Blob[] = [];
  const labels: string[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const total = r.items.length;
  const timing = { decode: 0, encrypt: 0, pack: 0 };
  let lastPost = 0;
  for (let a = 0; a < total; a += CHUNK) {
    if (cancelled.has(r.id)) throw new Error("cancelled");
    const chunk = r.items.slice(a, a + CHUNK);
    let t1 = performance.now();
    const decoded = await Promise.all(
      chunk.map((it) =>
        load(it.file, it.name, r.decode, shape).then(
          (img) => ({ it, img }),
          (e: Error) => ({ it, error: e.message }),
        ),
      ),
    );
    const ok: { it: ExportItem; img: RgbImage }[] = [];
    for (const d of decoded) {
      if ("img" in d) ok.push(d);
      else if (r.skipBad) skipped.push({ name: d.it.name, reason: d.error });
      else throw new Error(`${d.error} (tick "skip unreadable images" to leave it out)`);
    }
    timing.decode += performance.now() - t1;
    t1 = performance.now();
    const x = ok.length
      ? encryptImages(
          ok.map((o) => o.img),
          shape,
        )
      : new Float32Array(0);
    timing.encrypt += performance.now() - t1;
    t1 = performance.now();
    const members: Uint8Array[] = [];
    for (const [i, o] of ok.entries()) {
      const name = `${labels.length}.npy`;
      labels.push(`${name} ${o.it.label}`);
      members.push(...tarMember(name, studyNpy(x, i * per, h, w)));
    }
    parts.push(new Blob(members as BlobPart[]));
    timing.pack += performance.now() - t1;
    const done = Math.min(total, a + CHUNK);
    const now = performance.now();
    if (now - lastPost > 100 || done === total) {
      lastPost = now;
      post({ type: "progress", id: r.id, done, total, seconds: (now - t0) / 1000 });
    }
  }
  if (labels.length === 0) throw new Error("no image could be read");
  const manifest = {
    format: "ercnn-page-export",
    version: 1,
    layout: "study",
    split: r.split,
    key: { fingerprint: key.fingerprint, mode: key.mode, blockSize: key.blockSize, channels: key.channels },
    classes: r.classes,
    shape,
    decode: r.decode,
    count: labels.length,
    skipped,
    createdAt: new Date().toISOString(),
  };
  const enc = new TextEncoder();
  const head = tarMember("ercnn-export.json", enc.encode(`${JSON.stringify(manifest, null, 2)}\n`));
  const labelFile = tarMember(`${r.split}_label.txt`, enc.encode(`${labels.join("\n")}\n`));
  const blob = new Blob([...head, ...parts, ...labelFile, tarEnd()] as BlobPart[], { type: "application/x-tar" });
  return {
    type: "exported",
    id: r.id,
    blob,
    count: labels.length,
    skipped,
    seconds: (performance.now() - t0) / 1000,
    timing: { decode: timing.decode / 1000, encrypt: timing.encrypt / 1000, pack: timing.pack / 1000 },
  };
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage: (m: WorkerReply, transfer?: Transferable[]) => void;
};

scope.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "key") {
    key = m.key;
    return;
  }
  if (m.type === "cancel") {
    cancelled.add(m.id);
    return;
  }
  try {
    const reply = m.type === "encrypt" ? await onEncrypt(m) : await onExport(m, (p) => scope.postMessage(p));
    scope.postMessage(reply);
  } catch (err) {
    scope.postMessage({ type: "error", id: m.id, message: (err as Error).message });
  } finally {
    cancelled.delete(m.id);
  }
};
