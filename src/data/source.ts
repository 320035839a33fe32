/** The common shape of every dataset reader: an ordered list of labelled items plus class names. */

export interface SourceItem {
  /** Printable name (file path or `archive:member` or `batch#record`), used in error messages. */
  name: string;
  label: number;
  /** Encoded image file on disk (decoded in a worker). */
  path?: string;
  /** Encoded image bytes (JPEG/PNG/WebP) already in memory (archive members). */
  bytes?: Uint8Array;
  /** Raw pixels, uint8 CHW, RGB (CIFAR binary batches). */
  chw?: Uint8Array;
  /** Already-encrypted float32 HWC ciphertext file (the study's `{i}.npy` layout). */
  npyPath?: string;
  h?: number;
  w?: number;
}

export type SourceKind = "folder" | "archive" | "cifar-binary" | "study" | "preset";

export interface ImageSource {
  kind: SourceKind;
  /** Human-readable description recorded in the store's meta.json. */
  description: string;
  /** Class ids in label order. */
  classes: string[];
  /** Optional display names, same order as classes. */
  classNames?: string[];
  items: SourceItem[];
  /** Known fixed image size (CIFAR binary, study layout), if any. */
  size?: { h: number; w: number };
  /** Things a user must hear about that do not stop the import (e.g. class ids that never occur). */
  warnings?: string[];
}

export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp"];

export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/** Keeps only the given classes (by id), relabelling 0..k-1 in the order given. */
export function selectClasses(src: ImageSource, classes: string[]): ImageSource {
  const map = new Map<number, number>();
  for (const [i, c] of classes.entries()) {
    const old = src.classes.indexOf(c);
    if (old < 0) throw new Error(`class '${c}' not found in ${src.description} (has ${src.classes.length} classes)`);
    map.set(old, i);
  }
  const items = src.items.filter((it) => map.has(it.label)).map((it) => ({ ...it, label: map.get(it.label)! }));
  const classNames = src.classNames ? classes.map((c) => src.classNames![src.classes.indexOf(c)]) : undefined;
  return {
    ...src,
    classes: [...classes],
    classNames,
    items,
    description: `${src.description} [${classes.length} classes]`,
  };
}
