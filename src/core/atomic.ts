/**
 * Atomic file writes (Node only): write a uniquely named temp file in the same directory (created exclusively, with
 * the final permission bits from the start), fsync it, rename it over the target, then fsync the directory
 * (best effort). Readers see either the old file or the complete new one, never a partial write.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const mode = opts.mode ?? 0o644;
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let fh: Awaited<ReturnType<typeof open>> | null = null;
  try {
    fh = await open(tmp, "wx", mode); // exclusive: never follows or reuses an existing path
    if (opts.mode !== undefined) await fh.chmod(mode); // exact bits, independent of the umask
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = null;
    await rename(tmp, path);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  if (opts.mode !== undefined) await chmod(path, mode).catch(() => {});
  try {
    const dh = await open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // directory fsync is not supported everywhere (e.g. Windows); the rename is still atomic
  }
}
