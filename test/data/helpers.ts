/** Test helpers: tiny generated images, folders and archives. */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { create } from "tar";

export function tempDir(prefix = "ercnn-data-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic RGB pattern, HWC uint8. */
export function pattern(h: number, w: number, seed: number, channels = 3): Buffer {
  const b = Buffer.alloc(h * w * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < channels; c++) b[(y * w + x) * channels + c] = (x * 7 + y * 13 + c * 50 + seed * 31) & 255;
  return b;
}

export async function writeImage(
  path: string,
  h: number,
  w: number,
  seed: number,
  format: "png" | "jpg" | "webp" = "png",
  channels: 1 | 3 | 4 = 3,
): Promise<void> {
  const img = sharp(pattern(h, w, seed, channels), { raw: { width: w, height: h, channels } });
  if (format === "png") await img.png().toFile(path);
  else if (format === "jpg") await img.jpeg({ quality: 95 }).toFile(path);
  else await img.webp({ lossless: true }).toFile(path);
}

/** root/<class>/<i>.<fmt> */
export async function makeFolder(
  root: string,
  opts: { classes?: string[]; perClass?: number; size?: number; format?: "png" | "jpg" | "webp" } = {},
): Promise<void> {
  const classes = opts.classes ?? ["cat", "dog", "eel"];
  const n = opts.perClass ?? 4;
  const s = opts.size ?? 8;
  for (const [ci, c] of classes.entries()) {
    mkdirSync(join(root, c), { recursive: true });
    for (let i = 0; i < n; i++)
      await writeImage(join(root, c, `${i}.${opts.format ?? "png"}`), s, s, ci * 100 + i, opts.format ?? "png");
  }
}

/** tar.gz of `cwd`'s entries. */
export async function makeTarGz(file: string, cwd: string, entries: string[]): Promise<void> {
  await create({ gzip: true, file, cwd, portable: true }, entries);
}
