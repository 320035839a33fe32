// `ercnn encrypt --jpeg-quality Q` (DecodeOptions.jpeg): reference photos re-encoded as JPEG at quality Q with 4:2:0
// chroma after resize and crop, so that they carry the compression of the data they stand in for. Checked against an
// independent encoder: Debian's PIL (`Image.save(quality=Q, subsampling=2)`, its 4:2:0), which is how the shared
// CIFAR-10 was most likely written.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import sharp from "sharp";
import { decodeImage } from "../../src/data/decode.ts";
import { tempDir } from "./helpers.ts";

const t = tempDir("ercnn-jpeg-ref-");
after(t.cleanup);

/** A 32×32 RGB image with fine colour texture (where 4:2:0 and quantisation show). */
function texture(): Buffer {
  const b = Buffer.alloc(32 * 32 * 3);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++) {
      b[(y * 32 + x) * 3] = Math.round(127.5 + 120 * Math.sin(x / 1.3 + y / 4));
      b[(y * 32 + x) * 3 + 1] = Math.round(127.5 + 100 * Math.cos(y / 1.7) * Math.sin(x / 5));
      b[(y * 32 + x) * 3 + 2] = (x * 8 + (y % 3) * 60) % 256;
    }
  return b;
}

/** PIL's JPEG round trip of the PNG at `png`: quality q, 4:2:0 (subsampling=2), decoded back to RGB bytes. */
function pilRoundTrip(png: string, q: number, subsampling: number): Uint8Array {
  const out = join(t.dir, `pil-${q}-${subsampling}.rgb`);
  const py = [
    "import io, sys",
    "from PIL import Image",
    "im = Image.open(sys.argv[1]).convert('RGB')",
    "buf = io.BytesIO()",
    "im.save(buf, 'JPEG', quality=int(sys.argv[2]), subsampling=int(sys.argv[3]))",
    "open(sys.argv[4], 'wb').write(Image.open(io.BytesIO(buf.getvalue())).convert('RGB').tobytes())",
  ].join("\n");
  const r = spawnSync("/usr/bin/python3", ["-c", py, png, String(q), String(subsampling), out], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return new Uint8Array(readFileSync(out));
}

const meanAbs = (a: Uint8Array, b: Uint8Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

test("--jpeg-quality 75 gives PIL's quality-75 4:2:0 round trip, not the original nor a 4:4:4 one", async () => {
  const raw = texture();
  const png = join(t.dir, "texture.png");
  writeFileSync(
    png,
    await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer(),
  );
  const bytes = new Uint8Array(readFileSync(png));
  const plain = await decodeImage(bytes, "texture.png");
  const ours = await decodeImage(bytes, "texture.png", { jpeg: 75 });
  assert.deepEqual([ours.h, ours.w, ours.data.length], [32, 32, 32 * 32 * 3]);
  const pil420 = pilRoundTrip(png, 75, 2);
  const pil444 = pilRoundTrip(png, 75, 0);
  const vsPil = meanAbs(ours.data, pil420);
  const vsOriginal = meanAbs(ours.data, plain.data);
  const vs444 = meanAbs(ours.data, pil444);
  // the same encoder family and tables: within a level on average; the compression itself moves pixels by several
  assert.ok(vsPil < 1, `mean |ours − PIL 4:2:0| = ${vsPil.toFixed(3)}`);
  assert.ok(vsOriginal > 4 * vsPil + 2, `the round trip changed too little: ${vsOriginal.toFixed(3)}`);
  assert.ok(vs444 > 3 * vsPil, `ours is as close to PIL's 4:4:4 (${vs444.toFixed(3)}) as to its 4:2:0`);
  // Lower quality, more change; the re-encode follows resize and crop (a 64-px source resized to 32 first).
  const q20 = await decodeImage(bytes, "texture.png", { jpeg: 20 });
  assert.ok(meanAbs(q20.data, plain.data) > vsOriginal);
  const big = await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
    .resize(64, 64, { kernel: "nearest" })
    .png()
    .toBuffer();
  const resized = await decodeImage(new Uint8Array(big), "big.png", { resize: 32, jpeg: 75 });
  assert.deepEqual([resized.h, resized.w], [32, 32]);
});
