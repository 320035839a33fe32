/**
 * `.tar.gz` archives: read image members directly into memory (one pass, no temp files), or unpack once into a cache
 * (`$ERCNN_CACHE` or `~/.cache/ercnn`) and read the folder from there.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { extract, list } from "tar";
import { DataError } from "./errors.ts";
import { type ImageSource, isImageName, type SourceItem } from "./source.ts";

export function cacheDir(): string {
  return process.env.ERCNN_CACHE || join(homedir(), ".cache", "ercnn");
}

export function isArchive(path: string): boolean {
  return /\.(tar\.gz|tgz|tar)$/i.test(path);
}

/** Reads all regular-file members accepted by `filter` into memory. */
export async function readTarMembers(
  file: string,
  filter: (path: string) => boolean = () => true,
): Promise<Map<string, Uint8Array>> {
  if (!existsSync(file)) throw new DataError(`archive ${file} does not exist`, "NOT_FOUND");
  const out = new Map<string, Uint8Array>();
  const pending: Promise<void>[] = [];
  try {
    await list({
      file,
      filter: (p) => filter(p.replace(/^\.\//, "")),
      onReadEntry: (entry) => {
        if (entry.type !== "File") {
          entry.resume();
          return;
        }
        const name = entry.path.replace(/^\.\//, "");
        const chunks: Buffer[] = [];
        pending.push(
          new Promise<void>((resolve) => {
            entry.on("data", (c: Buffer) => chunks.push(c));
            entry.on("end", () => {
              const b = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
              out.set(name, new Uint8Array(b.buffer, b.byteOffset, b.length));
              resolve();
            });
          }),
        );
      },
    });
  } catch (e) {
    throw new DataError(`cannot read archive ${file}: ${(e as Error).message}`, "BAD_ARCHIVE");
  }
  await Promise.all(pending);
  return out;
}

export interface ArchiveOptions {
  /** Keep members whose class folder's parent folder is named this (e.g. "train", "test", "val"). */
  split?: string;
  classes?: string[];
  allowEmpty?: boolean;
}

/** Image members laid out `…/<split>/<class>/<file>` (or `<class>/<file>`), read into memory. */
export async function readArchiveImages(file: string, opts: ArchiveOptions = {}): Promise<ImageSource> {
  const wanted = opts.classes ? new Set(opts.classes) : null;
  const accept = (p: string) => {
    if (!isImageName(p)) return false;
    const parts = p.split("/");
    if (wanted && !wanted.has(parts[parts.length - 2])) return false;
    if (!opts.split) return true;
    return parts.length >= 3 && parts[parts.length - 3] === opts.split;
  };
  const members = await readTarMembers(file, accept);
  const parents = new Set<string>();
  const byClass = new Map<string, string[]>();
  for (const p of members.keys()) {
    const parts = p.split("/");
    if (parts.length < 2) continue;
    parents.add(parts.slice(0, -2).join("/"));
    const c = parts[parts.length - 2];
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(p);
  }
  if (members.size === 0)
    throw new DataError(`archive ${file} has no images${opts.split ? ` under a '${opts.split}' folder` : ""}`, "EMPTY");
  if (parents.size > 1)
    throw new DataError(
      `archive ${file} has images under several roots (${[...parents].slice(0, 5).join(", ")}); choose one with --split`,
      "AMBIGUOUS",
    );
  const all = [...byClass.keys()].sort();
  let classes = all;
  if (opts.classes) {
    for (const c of opts.classes)
      if (!byClass.has(c)) throw new DataError(`class '${c}' not found in archive ${file}`, "NOT_FOUND");
    classes = opts.classes;
  }
  const items: SourceItem[] = [];
  for (const [label, c] of classes.entries()) {
    for (const p of byClass.get(c)!.sort()) items.push({ name: `${file}:${p}`, bytes: members.get(p)!, label });
  }
  const root = [...parents][0];
  return { kind: "archive", description: `archive ${basename(file)}:${root || "."}`, classes, items };
}

/** Unpacks an archive once into the cache and returns the directory (re-used while the archive is unchanged). */
export async function unpackArchive(file: string, cache = cacheDir()): Promise<string> {
  if (!existsSync(file)) throw new DataError(`archive ${file} does not exist`, "NOT_FOUND");
  const st = statSync(file);
  const id = createHash("sha256").update(`${file}|${st.size}|${st.mtimeMs}`).digest("hex").slice(0, 12);
  const name = basename(file).replace(/\.(tar\.gz|tgz|tar)$/i, "");
  const dest = join(cache, "unpacked", `${name}-${id}`);
  if (existsSync(join(dest, ".ercnn-complete"))) return dest;
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await extract({ file, cwd: tmp });
    writeFileSync(join(tmp, ".ercnn-complete"), `${file}\n`);
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new DataError(`cannot unpack ${file}: ${(e as Error).message}`, "BAD_ARCHIVE");
  }
  return dest;
}

/** For an unpacked archive directory: the single top folder if there is exactly one, else the directory itself. */
export function archiveRoot(dir: string): string {
  const entries = readdirSync(dir, { withFileTypes: true }).filter((d) => !d.name.startsWith("."));
  if (entries.length === 1 && entries[0].isDirectory()) return join(dir, entries[0].name);
  return dir;
}
