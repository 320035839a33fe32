/** Reader for image folders laid out as `root/<class>/*.{jpg,jpeg,png,webp}` (torchvision ImageFolder order). */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "./errors.ts";
import { type ImageSource, isImageName, type SourceItem } from "./source.ts";

export interface FolderOptions {
  /** Keep only these classes (in this order). */
  classes?: string[];
  /** Accept empty class folders instead of reporting them. */
  allowEmpty?: boolean;
}

export function readImageFolder(root: string, opts: FolderOptions = {}): ImageSource {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(root);
  } catch {
    throw new DataError(`image folder ${root} does not exist`, "NOT_FOUND");
  }
  if (!st.isDirectory()) throw new DataError(`${root} is not a directory`, "NOT_FOUND");
  const all = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith("."))
    .map((d) => d.name)
    .sort();
  if (all.length === 0)
    throw new DataError(`image folder ${root} has no class sub-folders (expected root/<class>/*.jpg)`, "EMPTY");
  let classes = all;
  if (opts.classes) {
    for (const c of opts.classes)
      if (!all.includes(c)) throw new DataError(`class '${c}' not found in ${root}`, "NOT_FOUND");
    classes = opts.classes;
  }
  const items: SourceItem[] = [];
  const empty: string[] = [];
  for (const [label, c] of classes.entries()) {
    const dir = join(root, c);
    const files = readdirSync(dir)
      .filter((f) => !f.startsWith(".") && isImageName(f))
      .sort();
    if (files.length === 0) empty.push(c);
    for (const f of files) items.push({ name: join(dir, f), path: join(dir, f), label });
  }
  if (empty.length && !opts.allowEmpty) {
    throw new DataError(
      `empty class folder${empty.length > 1 ? "s" : ""} in ${root}: ${empty.join(", ")} (no .jpg/.jpeg/.png/.webp files)`,
      "EMPTY_CLASS",
    );
  }
  return { kind: "folder", description: `image folder ${root}`, classes, items };
}
