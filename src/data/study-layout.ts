/**
 * The study's encrypted layout: a directory of `{i}.npy` files (H×W×3 float32 ciphertexts, one per image) plus
 * `train_label.txt` / `test_label.txt` with lines `{i}.npy {label}`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readNpy } from "../core/npy.ts";
import { BadImageError, DataError } from "./errors.ts";
import { confinedPath, folderNameProblem } from "./names.ts";
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
    // A label file is untrusted input (page exports carry one): each entry names a file in this folder.
    const problem = folderNameProblem(m[1]);
    if (problem)
      throw new DataError(
        `${lf}:${ln + 1}: '${m[1].slice(0, 60)}' ${problem.replace(/^'.*?' /, "")}: entries name files in this folder`,
        "BAD_LABELS",
      );
    const label = Number(m[2]);
    maxLabel = Math.max(maxLabel, label);
    const path = confinedPath(dir, m[1]);
    items.push({ name: join(dir, m[1]), npyPath: path, label });
  }
  if (items.length === 0) throw new DataError(`${lf} lists no images`, "EMPTY");
  const classes = Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  const seen = new Set(items.map((it) => it.label));
  const missing = classes.filter((_, i) => !seen.has(i));
  // A warning, not an error: class ids must stay those of the other split (renumbering would pair the wrong
  // classes), and a small split may legitimately miss a class; but an empty class is never silent.
  const warnings = missing.length
    ? [
        `${lf}: labels run 0..${maxLabel} but ${missing.length} of them never occur (${missing.slice(0, 10).join(", ")}` +
          `${missing.length > 10 ? ", …" : ""}); the store keeps ${classes.length} classes, ${missing.length} of them empty`,
      ]
    : undefined;
  return {
    kind: "study",
    description: `study layout ${dir} (${split})`,
    classes,
    items,
    ...(warnings ? { warnings } : {}),
  };
}

/**
 * Reads one study ciphertext (H×W×3 float32) and returns it as CHW float32. A missing or unreadable file, a shape
 * that is not H×W×3 and non-finite values (NaN/Inf, which no image encrypts to) are a BadImageError naming the file,
 * so `--skip-bad` skips and lists them like undecodable images.
 */
export function readStudyItem(path: string): { data: Float32Array; h: number; w: number } {
  let arr: ReturnType<typeof readNpy>;
  try {
    arr = readNpy(new Uint8Array(readFileSync(path)), path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BadImageError(path, err.code === "ENOENT" ? "file does not exist" : err.message);
  }
  if (arr.shape.length !== 3 || arr.shape[2] !== 3)
    throw new BadImageError(path, `shape [${arr.shape}] is not H×W×3 (a study ciphertext is H×W×3 float32)`);
  const [h, w] = arr.shape;
  const src = arr.data;
  const out = new Float32Array(3 * h * w);
  const hw = h * w;
  let bad = -1;
  for (let i = 0; i < hw; i++)
    for (let c = 0; c < 3; c++) {
      const v = Number(src[i * 3 + c]);
      if (!Number.isFinite(v) && bad < 0) bad = i * 3 + c;
      out[c * hw + i] = v;
    }
  if (bad >= 0) {
    const y = Math.floor(bad / 3 / w);
    const x = Math.floor(bad / 3) % w;
    throw new BadImageError(
      path,
      `value ${Number(src[bad])} at row ${y}, column ${x}, channel ${bad % 3} is not finite`,
    );
  }
  return { data: out, h, w };
}
