/**
 * `.tar.gz` archives: read image members directly into memory (one pass, no temp files), or unpack once into a cache
 * (`$ERCNN_CACHE` or `~/.cache/ercnn`) and read the folder from there.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { createGunzip } from "node:zlib";
import { extract, Parser } from "tar";
import { DataError } from "./errors.ts";
import { folderNameProblem } from "./names.ts";
import { type ImageSource, isImageName, type SourceItem } from "./source.ts";

export function cacheDir(): string {
  return process.env.ERCNN_CACHE || join(homedir(), ".cache", "ercnn");
}

export function isArchive(path: string): boolean {
  return /\.(tar\.gz|tgz|tar)$/i.test(path);
}

/**
 * Reads all regular-file members accepted by `filter` into memory. The archive (gzip or plain tar) is decompressed
 * here and fed to node-tar's parser, so that the end of the tar stream can be checked: an archive must end with its
 * zero end-of-archive block, else it was cut short (at a member boundary node-tar says nothing).
 */
export async function readTarMembers(
  file: string,
  filter: (path: string) => boolean = () => true,
): Promise<Map<string, Uint8Array>> {
  if (!existsSync(file)) throw new DataError(`archive ${file} does not exist`, "NOT_FOUND");
  const out = new Map<string, Uint8Array>();
  const pending: Promise<void>[] = [];
  const damage = archiveDamage();
  const parser = new Parser({
    onwarn: damage.onwarn,
    filter: (p: string) => filter(p.replace(/^\.\//, "")),
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
  let tail: Buffer = Buffer.alloc(0);
  try {
    const fd = openSync(file, "r");
    const magic = Buffer.alloc(2);
    readSync(fd, magic, 0, 2, 0);
    closeSync(fd);
    const raw = createReadStream(file);
    const stream = magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
    raw.on("error", (e) => stream.destroy(e));
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      tail = chunk.length >= 512 ? chunk.subarray(chunk.length - 512) : Buffer.concat([tail, chunk]).subarray(-512);
      if (!parser.write(chunk)) await new Promise((r) => parser.once("drain", r));
    }
    await new Promise<void>((resolve) => parser.end(resolve));
  } catch (e) {
    throw new DataError(`cannot read archive ${file}: ${(e as Error).message}`, "BAD_ARCHIVE");
  }
  await Promise.all(pending);
  if (tail.length < 512 || tail.some((b) => b !== 0))
    damage.onwarn("TAR_BAD_ARCHIVE", "the tar stream ends without its end-of-archive block");
  damage.check(file, `${out.size} member(s) were read before the damage`);
  return out;
}

/**
 * node-tar reports a tar stream that ends early (a truncated download inside a complete gzip) or a damaged header only
 * as a warning and keeps what it read; ercnn refuses such an archive, since importing part of a dataset without a
 * word would train and test on something else than the user thinks.
 */
function archiveDamage(): {
  onwarn: (code: string, message: string | Error) => void;
  check: (file: string, what: string) => void;
} {
  const problems: string[] = [];
  return {
    onwarn: (code, message) => {
      if (code === "TAR_BAD_ARCHIVE" || code === "TAR_ABORT" || code === "TAR_ENTRY_INVALID" || code === "ZLIB_ERROR")
        problems.push(typeof message === "string" ? message : message.message);
    },
    check: (file, what) => {
      if (problems.length)
        throw new DataError(
          `archive ${file} is truncated or damaged (${problems[0]}); ${what}. Download or create it again`,
          "BAD_ARCHIVE",
        );
    },
  };
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
    const bad = folderNameProblem(c);
    if (bad) throw new DataError(`archive ${file}: member ${p}: its class folder ${bad}`, "BAD_ARCHIVE");
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
  const damage = archiveDamage();
  try {
    // Only files and folders: a link member could point anywhere, and the later reads would follow it. node-tar
    // itself refuses members with '..' or an absolute path.
    await extract({
      file,
      cwd: tmp,
      onwarn: damage.onwarn,
      filter: (_p, entry) => !("type" in entry) || entry.type === "File" || entry.type === "Directory",
    });
    damage.check(file, "nothing was unpacked");
    writeFileSync(join(tmp, ".ercnn-complete"), `${file}\n`);
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof DataError) throw e;
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
