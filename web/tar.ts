/**
 * A minimal ustar writer for the dataset export: regular files only, names ≤ 100 bytes (the page names its members
 * `ercnn-export.json`, `train_label.txt`, `{i}.npy`). Each member is a 512-byte header, the data, and zero padding
 * to a 512-byte boundary; the archive ends with two zero blocks. Read back by node-tar in `ercnn encrypt`.
 */

const BLOCK = 512;

function writeString(h: Uint8Array, off: number, len: number, s: string): void {
  const b = new TextEncoder().encode(s);
  if (b.length > len) throw new Error(`tar: '${s}' is longer than ${len} bytes`);
  h.set(b, off);
}

function writeOctal(h: Uint8Array, off: number, len: number, v: number): void {
  writeString(h, off, len, `${v.toString(8).padStart(len - 1, "0")}\0`);
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(name: string, size: number, mtime = Math.floor(Date.now() / 1000)): Uint8Array {
  if (size > 0o77777777777) throw new Error(`tar: member ${name} is larger than 8 GiB`);
  const h = new Uint8Array(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h[156] = 0x30; // '0': regular file
  writeString(h, 257, 6, "ustar\0");
  writeString(h, 263, 2, "00");
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** Header, data and padding of one member, as Blob parts. */
export function tarMember(name: string, data: Uint8Array, mtime?: number): Uint8Array[] {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return pad
    ? [tarHeader(name, data.length, mtime), data, new Uint8Array(pad)]
    : [tarHeader(name, data.length, mtime), data];
}

/** The end-of-archive marker: two zero blocks. */
export function tarEnd(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}
