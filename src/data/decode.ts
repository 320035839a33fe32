/**
 * Image decoding with sharp (libvips): any JPEG/PNG/WebP → RGB uint8. Greyscale is expanded to RGB, alpha is dropped
 * (like PIL's `convert("RGB")`: transparent pixels keep their stored colour); `transparent` tells the caller when
 * that lost information (some pixel was not fully opaque), so the import can say so. Optional `resize` (shorter side, bilinear) then `crop` (centre), the equivalent of
 * torchvision's `Resize(256)` + `CenterCrop(224)`.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { type DecodeOptions, decodedSize } from "../core/pixels.ts";
import { MAX_IMAGE_PIXELS } from "./decode-limits.ts";
import { BadImageError } from "./errors.ts";

export { type DecodeOptions, decodedSize, hwcU8ToChwF32 } from "../core/pixels.ts";

interface TurboJpeg {
  decode(bytes: Uint8Array): { data: Uint8Array; width: number; height: number };
}

/**
 * libjpeg-turbo through native/'s small ercnn_jpeg addon (no libtorch): ~15 µs for a 32×32 JPEG where a sharp
 * pipeline costs ~200-300 µs, with identical pixels (sharp decodes with libjpeg-turbo too). Used for plain JPEG
 * decodes; sharp does everything else (PNG, WebP, resizing) and is the fallback when the addon is not built.
 */
const turbo: TurboJpeg | null = (() => {
  if (process.env.ERCNN_NO_TURBOJPEG) return null;
  const p = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "native", "build", "Release", "ercnn_jpeg.node");
  try {
    return existsSync(p) ? (createRequire(import.meta.url)(p) as TurboJpeg) : null;
  } catch {
    return null;
  }
})();

/** Which decoder plain JPEGs go through. */
export function jpegDecoder(): "libjpeg-turbo" | "sharp" {
  return turbo ? "libjpeg-turbo" : "sharp";
}

sharp.cache(false);
// Parallelism comes from decoding many images at once (worker threads + libuv pool), not from libvips threads per
// image: for small images per-image threads cost more than they save.
sharp.concurrency(1);

export interface DecodedImage {
  /** RGB, HWC, uint8. */
  data: Uint8Array;
  h: number;
  w: number;
  /** The image had an alpha channel with at least one pixel that was not fully opaque (the alpha was dropped). */
  transparent?: boolean;
}

/** Drops the alpha of RGBA (HWC uint8) pixels; says whether any pixel was not fully opaque. */
function dropAlpha(rgba: Uint8Array, hw: number): { rgb: Uint8Array; transparent: boolean } {
  const rgb = new Uint8Array(hw * 3);
  let minAlpha = 255;
  for (let i = 0; i < hw; i++) {
    rgb[i * 3] = rgba[i * 4];
    rgb[i * 3 + 1] = rgba[i * 4 + 1];
    rgb[i * 3 + 2] = rgba[i * 4 + 2];
    if (rgba[i * 4 + 3] < minAlpha) minAlpha = rgba[i * 4 + 3];
  }
  return { rgb, transparent: minAlpha < 255 };
}

export { MAX_IMAGE_PIXELS } from "./decode-limits.ts";

/** Width and height from a baseline or progressive JPEG's SOF segment, without decoding; null if none is found. */
export function jpegSize(b: Uint8Array): { w: number; h: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = (b[i + 2] << 8) | b[i + 3];
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC), hold the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { h: (b[i + 5] << 8) | b[i + 6], w: (b[i + 7] << 8) | b[i + 8] };
    i += 2 + len;
  }
  return null;
}

function tooLarge(name: string, w: number, h: number): BadImageError {
  return new BadImageError(
    name,
    `image is ${w}×${h} (${(w * h).toLocaleString("en-US")} pixels), over the limit of ` +
      `${MAX_IMAGE_PIXELS.toLocaleString("en-US")} (PIL's decompression-bomb limit); downscale it first or use --skip-bad`,
  );
}

/**
 * Decodes one image. Its size is read from the header first and an image over MAX_IMAGE_PIXELS is refused before any
 * pixel is decoded (a 16000×16000 PNG would take 768 MB).
 */
export async function decodeImage(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  const js = jpeg ? jpegSize(bytes) : null;
  if (js && js.w * js.h > MAX_IMAGE_PIXELS) throw tooLarge(name, js.w, js.h);
  if (turbo && !opts.resize && !opts.crop && !opts.jpeg && js) {
    try {
      const r = turbo.decode(bytes);
      return { data: r.data, h: r.height, w: r.width };
    } catch {
      // CMYK and other rarities, or a broken file: sharp decodes it or names the problem.
    }
  }
  try {
    let img = sharp(bytes, { failOn: "truncated", limitInputPixels: MAX_IMAGE_PIXELS });
    if (opts.resize || opts.crop) {
      const m = await img.metadata();
      if (!m.width || !m.height) throw new Error("no dimensions in header");
      if (m.width * m.height > MAX_IMAGE_PIXELS) throw tooLarge(name, m.width, m.height);
      // EXIF orientation is ignored, like torchvision's PIL loader.
      let W = m.width;
      let H = m.height;
      if (opts.resize) {
        const s = decodedSize(H, W, { resize: opts.resize });
        if (s.h !== H || s.w !== W)
          img = img.resize(s.w, s.h, { fit: "fill", kernel: "linear", fastShrinkOnLoad: false });
        H = s.h;
        W = s.w;
      }
      if (opts.crop) {
        const c = opts.crop;
        if (H < c || W < c) throw new Error(`image is ${H}×${W}, smaller than crop ${c}`);
        const top = Math.round((H - c) / 2);
        const left = Math.round((W - c) / 2);
        img = img.extract({ left, top, width: c, height: c });
      }
    }
    if (opts.jpeg) img = sharp(await img.jpeg({ quality: opts.jpeg, chromaSubsampling: "4:2:0" }).toBuffer());
    const { data, info } = await img.toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    const px = new Uint8Array(data.buffer, data.byteOffset, data.length);
    if (info.channels === 4) {
      const { rgb, transparent } = dropAlpha(px, info.width * info.height);
      return { data: rgb, h: info.height, w: info.width, ...(transparent ? { transparent } : {}) };
    }
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: px, h: info.height, w: info.width };
  } catch (e) {
    if (e instanceof BadImageError) throw e;
    // libvips checks limitInputPixels from the header, before decoding; the header gives the size for the message.
    if (/pixel limit/i.test((e as Error).message)) {
      const m = await sharp(bytes)
        .metadata()
        .catch(() => null);
      if (m?.width && m.height) throw tooLarge(name, m.width, m.height);
    }
    throw new BadImageError(name, (e as Error).message.split("\n")[0]);
  }
}

/** Writes CHW uint8 into `out` (CHW float32 in [0,1]) at element offset `off`. */
export function chwU8ToF32(src: Uint8Array, out: Float32Array, off: number): void {
  const inv = 1 / 255;
  for (let i = 0; i < src.length; i++) out[off + i] = src[i] * inv;
}

/** Float CHW in [0,1] → PNG bytes (rounded, clamped). */
export async function encodePng(chw: Float32Array, c: number, h: number, w: number): Promise<Buffer> {
  const hw = h * w;
  const buf = Buffer.alloc(hw * c);
  for (let i = 0; i < hw; i++) {
    for (let ch = 0; ch < c; ch++) {
      const v = Math.round(chw[ch * hw + i] * 255);
      buf[i * c + ch] = Math.max(0, Math.min(255, v));
    }
  }
  return sharp(buf, { raw: { width: w, height: h, channels: c as 3 } })
    .png()
    .toBuffer();
}
