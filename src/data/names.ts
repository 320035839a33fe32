/**
 * Names from untrusted input (a store's meta.json, an archive's members, a label file) that become paths. A class
 * name becomes a folder name (`ercnn decrypt` writes <out>/<class>/), so it is refused, never rewritten, unless it is
 * one plain folder name: rewriting would make two stores' class folders disagree silently. Every path built from
 * such a name is also resolved and confined to its root.
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { DataError } from "./errors.ts";

/** Longest class name in bytes: the common file-system limit on one path component. */
export const MAX_NAME_BYTES = 255;

/** What is wrong with `name` as one folder name, or null when it is one. */
export function folderNameProblem(name: unknown): string | null {
  if (typeof name !== "string") return `is ${JSON.stringify(name)}, not a string`;
  if (name === "") return "is empty";
  if (name === "." || name === "..") return `is '${name}', which names no folder of its own`;
  if (/[/\\]/.test(name)) return `'${name.slice(0, 60)}' contains a path separator`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return `${JSON.stringify(name.slice(0, 60))} contains a control character`;
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NAME_BYTES) return `is ${bytes} bytes long (at most ${MAX_NAME_BYTES}, one folder name)`;
  return null;
}

/** The first problem in a class list (a bad name or a duplicate), as `classes[i] …`, or null. */
export function classListProblem(classes: unknown): string | null {
  if (!Array.isArray(classes) || classes.length === 0) return "classes is not a non-empty list of class names";
  const seen = new Map<string, number>();
  for (const [i, c] of classes.entries()) {
    const p = folderNameProblem(c);
    if (p) return `classes[${i}] ${p}`;
    const j = seen.get(c);
    if (j !== undefined) return `classes[${i}] '${c}' occurs twice (also classes[${j}])`;
    seen.set(c, i);
  }
  return null;
}

/**
 * `root` joined with `parts`, resolved, and refused unless it lies inside `root`: the last line of defence when a
 * name from untrusted input becomes a path (the names are validated before this, so it does not fire in practice).
 */
export function confinedPath(root: string, ...parts: string[]): string {
  const base = resolve(root);
  const p = resolve(base, ...parts);
  const rel = relative(base, p);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    throw new DataError(`'${parts.join("/")}' would leave ${root}; refused`, "PATH_ESCAPE");
  return p;
}
