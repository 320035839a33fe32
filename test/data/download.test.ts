import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { download } from "../../src/data/download.ts";
import { tempDir } from "./helpers.ts";

const t = tempDir();
const body = Buffer.alloc(200_000);
for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 255;
const md5 = createHash("md5").update(body).digest("hex");
let server: http.Server;
let base = "";
const ranges: string[] = [];
let cutFirst = true;

before(async () => {
  server = http.createServer((req, res) => {
    const range = req.headers.range;
    ranges.push(range ?? "");
    let start = 0;
    if (range) {
      const m = /bytes=(\d+)-/.exec(range)!;
      start = Number(m[1]);
      res.writeHead(206, {
        "content-length": body.length - start,
        "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else res.writeHead(200, { "content-length": body.length });
    if (req.url === "/flaky" && cutFirst) {
      cutFirst = false;
      res.write(body.subarray(0, 50_000));
      setTimeout(() => res.destroy(), 20);
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  t.cleanup();
});

test("downloads, resumes a partial file with Range, verifies md5", async () => {
  const dest = join(t.dir, "a.bin");
  writeFileSync(`${dest}.part`, body.subarray(0, 12345));
  let last = 0;
  await download(`${base}/file`, dest, { md5, onProgress: (d) => (last = d) });
  assert.equal(ranges.at(-1), "bytes=12345-");
  assert.deepEqual(readFileSync(dest), body);
  assert.equal(last, body.length);
  assert.ok(!existsSync(`${dest}.part`));
});

test("a dropped connection is resumed", async () => {
  const dest = join(t.dir, "b.bin");
  await download(`${base}/flaky`, dest, { md5 });
  assert.deepEqual(readFileSync(dest), body);
  assert.ok(ranges.some((r) => r.startsWith("bytes=")));
});

test("a checksum mismatch fails and removes the partial file", async () => {
  const dest = join(t.dir, "c.bin");
  await assert.rejects(download(`${base}/file`, dest, { md5: "0".repeat(32) }), /checksum mismatch .* md5/);
  assert.ok(!existsSync(dest));
  assert.ok(!existsSync(`${dest}.part`));
  assert.equal(existsSync(join(t.dir, "a.bin")) && statSync(join(t.dir, "a.bin")).size, body.length);
});
