// The CLI's resize must not depend on the file format: sharp's default shrink-on-load decodes JPEG and WebP at a
// reduced size before resizing, so a PNG and a lossless WebP of the same pixels used to differ by up to 25/255
// (and the browser page, which cannot shrink on load, could not match). decodeImage turns it off.
import assert from "node:assert/strict";
import { test } from "node:test";
import sharp from "sharp";
import { decodeImage } from "../../src/data/decode.ts";

test("a PNG and a lossless WebP of the same pixels resize to the same pixels (no shrink-on-load)", async () => {
  const W = 900;
  const H = 600;
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < 3; c++)
        raw[(y * W + x) * 3 + c] = Math.round(127.5 + 127.5 * Math.sin(x / (7 + c) + y / 11) * Math.cos(y / 5));
  const input = { raw: { width: W, height: H, channels: 3 as const } };
  const png = await sharp(raw, input).png().toBuffer();
  const webp = await sharp(raw, input).webp({ lossless: true }).toBuffer();
  const a = await decodeImage(new Uint8Array(png), "a.png", { resize: 64, crop: 64 });
  const b = await decodeImage(new Uint8Array(webp), "b.webp", { resize: 64, crop: 64 });
  assert.equal(a.data.length, 3 * 64 * 64);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
  assert.ok(worst <= 1, `PNG vs WebP after resize differ by ${worst}/255`);
});
