/**
 * The page's Web Worker: decodes images (createImageBitmap + OffscreenCanvas), brings them to the model's input
 * (preprocess.ts), encrypts them with the key the page handed over, in that key's scheme (src/cipher/schemes, as
 * `ercnn encrypt` does through src/data/store-cipher.ts; WebAssembly SIMD for the Hill cipher when available),
 * and writes dataset exports as a tar Blob built chunk by chunk (Blob parts live in the browser's blob store, which
 * spills to disk, not in this worker's heap). Nothing here touches the network.
 */
import { isNpy, type KeyMode, keyFromNpy } from "../src/cipher/index.ts";
import { generateSchemeKey, type SchemeKey, type SchemeName, schemeKeyFromJson } from "../src/cipher/schemes/index.ts";
import { writeNpy } from "../src/core/npy.ts";
import { encryptStoreValues } from "../src/data/store-cipher.ts";
import { type DecodeOptions, preprocess, type RgbImage, rgbaToRgb, toChwUnit } from "./preprocess.ts";
import { tarMember } from "./tar.ts";

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

/** The dataset's image shape from its first decodable images (or the crop), as `ercnn encrypt` probes it. */
export interface ProbeRequest {
  type: "probe";
  id: number;
  items: ExportItem[];
  decode: DecodeOptions;
  skipBad: boolean;
}

/** One chunk of a dataset export: `items` are planned positions start, start+1, … (member `{position}.npy`). */
export interface ChunkRequest {
  type: "chunk";
  id: number;
  start: number;
  items: ExportItem[];
  decode: DecodeOptions;
  shape: [number, number, number];
  skipBad: boolean;
}

/**
 * Key generation and key-file parsing for any scheme (condition numbers of k²×k² matrices: seconds at k = 16, off
 * the page). `mode` applies to the Hill schemes only.
 */
export type KeyRequest =
  | { type: "keygen"; id: number; scheme: SchemeName; mode: KeyMode; blockSize: number }
  | { type: "keyfile"; id: number; bytes: Uint8Array; name: string; npyMode: KeyMode };

export type WorkerRequest =
  | { type: "key"; key: SchemeKey | null }
  | KeyRequest
  | EncryptRequest
  | ProbeRequest
  | ChunkRequest;

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
  | { type: "shape"; id: number; shape: [number, number, number] }
  | { type: "newkey"; id: number; key: SchemeKey }
  | {
      type: "chunk";
      id: number;
      /** Tar members (`{position}.npy`) of the images that could be read, in order. */
      blob: Blob;
      /** Lines of the label file: `{position}.npy {label}`. */
      labels: string[];
      skipped: { name: string; reason: string }[];
      /** Milliseconds spent decoding + resizing, encrypting, and writing .npy/tar parts. */
      timing: { decode: number; encrypt: number; pack: number };
    }
  | { type: "error"; id: number; message: string };

let key: SchemeKey | null = null;

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

async function onProbe(r: ProbeRequest): Promise<WorkerReply> {
  if (!key) throw new Error("no key: generate or load one first");
  let size: { h: number; w: number } | null = r.decode.crop ? { h: r.decode.crop, w: r.decode.crop } : null;
  for (const it of r.items) {
    if (size) break;
    try {
      size = preprocess(await decodeFile(it.file, it.name), r.decode, it.name);
    } catch (e) {
      if (!r.skipBad) throw e;
    }
  }
  if (!size) throw new Error(`none of the first ${r.items.length} images could be read`);
  const k = key.blockSize;
  if (size.h % k || size.w % k)
    throw new Error(
      `image size ${size.h}×${size.w} is not a multiple of the key's block size ${k}: set resize/crop to a multiple of ${k}`,
    );
  return { type: "shape", id: r.id, shape: [3, size.h, size.w] };
}

async function onChunk(r: ChunkRequest): Promise<WorkerReply> {
  const [, h, w] = r.shape;
  const per = 3 * h * w;
  let t = performance.now();
  const decoded = await Promise.all(
    r.items.map((it, i) =>
      load(it.file, it.name, r.decode, r.shape).then(
        (img) => ({ it, pos: r.start + i, img }),
        (e: Error) => ({ it, error: e.message }),
      ),
    ),
  );
  const ok: { it: ExportItem; pos: number; img: RgbImage }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const d of decoded) {
    if ("img" in d) ok.push(d);
    else if (r.skipBad) skipped.push({ name: d.it.name, reason: d.error });
    else throw new Error(`${d.error} (tick "skip unreadable images" to leave it out)`);
  }
  const decode = performance.now() - t;
  t = performance.now();
  const x = ok.length
    ? encryptImages(
        ok.map((o) => o.img),
        r.shape,
      )
    : new Float32Array(0);
  const encrypt = performance.now() - t;
  t = performance.now();
  const members: Uint8Array[] = [];
  const labels: string[] = [];
  for (const [i, o] of ok.entries()) {
    members.push(...tarMember(`${o.pos}.npy`, studyNpy(x, i * per, h, w)));
    labels.push(`${o.pos}.npy ${o.it.label}`);
  }
  const blob = new Blob(members as BlobPart[]);
  return { type: "chunk", id: r.id, blob, labels, skipped, timing: { decode, encrypt, pack: performance.now() - t } };
}

async function onKey(m: KeyRequest): Promise<WorkerReply> {
  // Without a seed, keys are drawn from crypto.getRandomValues (the system CSPRNG), as `ercnn keygen` does.
  if (m.type === "keygen") {
    const hill = m.scheme === "hill" || m.scheme === "hill-scramble";
    const key = await generateSchemeKey({
      scheme: m.scheme,
      blockSize: m.blockSize,
      ...(hill ? { mode: m.mode } : {}),
    });
    return { type: "newkey", id: m.id, key };
  }
  // A .npy key is the study's Hill key; a JSON key file may be of any scheme (a file without "scheme" is Hill).
  const key = isNpy(m.bytes)
    ? await keyFromNpy(m.bytes, m.name, { mode: m.npyMode })
    : await schemeKeyFromJson(new TextDecoder().decode(m.bytes), m.name);
  return { type: "newkey", id: m.id, key };
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
  try {
    scope.postMessage(
      m.type === "encrypt"
        ? await onEncrypt(m)
        : m.type === "probe"
          ? await onProbe(m)
          : m.type === "chunk"
            ? await onChunk(m)
            : await onKey(m),
    );
  } catch (err) {
    scope.postMessage({ type: "error", id: m.id, message: (err as Error).message });
  }
};
