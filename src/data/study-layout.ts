/**
 * The study's encrypted layout: a directory of `{i}.npy` files (H×W×3 float32 ciphertexts, one per image) plus
 * `train_label.txt` / `test_label.txt` with lines `{i}.npy {label}`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readNpy } from "../cipher/index.ts";
import { DataError } from "./errors.ts";
import type { ImageSource, SourceItem } from "./source.ts";

export function isStudyLayout(dir: string): boolean {
  return existsSync(join(dir, "train_label.txt")) || existsSync(join(dir, "test_label.txt"));
}

export function readStudyLayout(dir: string, split: "train" | "test" = "train"): ImageSource {
  const lf = join(dir, `${split}_label.txt`);
  if (!existsSync(lf)) throw new DataError(`${lf} does not exist`, "NOT_FOUND");
  const items: SourceItem[] = [];
  let maxLabel = -1;
  for (const [ln, line] of readFileSync(lf, "utf8").split("\n").entries()) {
    const t = line.trim();
    if (!t) continue;
    const m = /^(\S+\.npy)\s+(\d+)$/.exec(t);
    if (!m) throw new DataError(`${lf}:${ln + 1}: expected '{i}.npy {label}', got '${t.slice(0, 60)}'`, "BAD_LABELS");
    const label = Number(m[2]);
    maxLabel = Math.max(maxLabel, label);
    items.push({ name: join(dir, m[1]), npyPath: join(dir, m[1]), label });
  }
  if (items.length === 0) throw new DataError(`${lf} lists no images`, "EMPTY");
  const classes = Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  return { kind: "study", description: `study layout ${dir} (${split})`, classes, items };
}

/** Reads one study ciphertext (H×W×3 float32) and returns it as CHW float32. */
export function readStudyItem(path: string): { data: Float32Array; h: number; w: number } {
  let arr: ReturnType<typeof readNpy>;
  try {
    arr = readNpy(new Uint8Array(readFileSync(path)), path);
  } catch (e) {
    throw new DataError(`bad study ciphertext ${path}: ${(e as Error).message}`, "BAD_IMAGE");
  }
  if (arr.shape.length !== 3 || arr.shape[2] !== 3)
    throw new DataError(`bad study ciphertext ${path}: shape [${arr.shape}] is not H×W×3`, "BAD_IMAGE");
  const [h, w] = arr.shape;
  const src = arr.data;
  const out = new Float32Array(3 * h * w);
  const hw = h * w;
  for (let i = 0; i < hw; i++) for (let c = 0; c < 3; c++) out[c * hw + i] = Number(src[i * 3 + c]);
  return { data: out, h, w };
}
