// `ercnn classify` against a live `ercnn serve` model: real image files of mixed formats and sizes (made with sharp),
// brought to the model's input with the same --resize/--crop as `ercnn encrypt`, encrypted locally, sent as
// ciphertexts: the top classes equal those of evaluate's forward path on the same images encrypted by
// `ercnn encrypt`; with a wrong key it refuses before any infer request reaches the server.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { generateKey } from "../../src/cipher/index.ts";
import { runClassify } from "../../src/cli/commands/classify.ts";
import { runEncrypt } from "../../src/cli/commands/encrypt.ts";
import { saveKey } from "../../src/data/keyfile.ts";
import { ClientError, fetchModel } from "../../src/serve/client.ts";
import { tempDir, writeImage } from "../data/helpers.ts";
import { makeRun, referenceLogits, startServer, type TestRun } from "../serve/helpers.ts";

const exec = promisify(execFile);
const t = tempDir("ercnn-classify-");
let run: TestRun;
let server: Awaited<ReturnType<typeof startServer>>;
const keyFile = join(t.dir, "key.json");
const otherKey = join(t.dir, "other.json");
const images: string[] = [];

async function captureStdout(fn: () => Promise<void>): Promise<string> {
  const write = process.stdout.write;
  let out = "";
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

const cli = (...args: string[]) =>
  exec(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" }).then(
    (r) => ({ status: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ status: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

before(async () => {
  const key = await generateKey({ blockSize: 4, seed: "classify-test" });
  await saveKey(keyFile, key);
  await saveKey(otherKey, await generateKey({ blockSize: 4, seed: "classify-other" }));
  run = await makeRun(join(t.dir, "m"), { key });
  const folder = join(t.dir, "photos", "all");
  mkdirSync(folder, { recursive: true });
  const specs: [number, number, "png" | "jpg" | "webp"][] = [
    [40, 30, "png"],
    [33, 50, "jpg"],
    [16, 16, "webp"],
    [64, 48, "jpg"],
    [20, 90, "png"],
  ];
  for (const [i, [h, w, fmt]] of specs.entries()) {
    const p = join(folder, `${i}.${fmt}`);
    await writeImage(p, h, w, i * 17 + 3, fmt);
    images.push(p);
  }
  server = await startServer([{ dir: run.run, name: "tiny" }]);
});
after(async () => {
  await server?.close();
  t.cleanup();
});

test("classify returns the classes evaluate's forward gives on the same images encrypted by ercnn encrypt", async () => {
  const store = join(t.dir, "store");
  // ercnn encrypt's own code, in process (a CLI start costs seconds on a loaded machine).
  await captureStdout(() =>
    runEncrypt(join(t.dir, "photos"), { out: store, key: keyFile, resize: 16, crop: 16, json: true, workers: 1 }),
  );
  const ref = await referenceLogits(run.run, store);
  assert.equal(ref.length, images.length);
  const r = await cli(
    "classify",
    "--server",
    server.url,
    "--model",
    "tiny",
    "--key",
    keyFile,
    "--resize",
    "16",
    "--crop",
    "16",
    "--top",
    "4",
    "--json",
    ...images,
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    results: { image: string; top: { index: number; label: string; probability: number }[] }[];
  };
  for (const [i, res] of out.results.entries()) {
    assert.equal(res.image, images[i]);
    const order = [0, 1, 2, 3].sort((a, b) => ref[i][b] - ref[i][a]);
    assert.deepEqual(
      res.top.map((p) => p.index),
      order,
      `image ${i}`,
    );
    assert.equal(res.top[0].label, `class${order[0]}`);
    const e = Array.from(ref[i], Math.exp);
    const s = e.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(res.top[0].probability - e[order[0]] / s) < 1e-5);
  }
  // The table form, in process (each CLI start costs seconds on a loaded machine).
  const table = await captureStdout(() =>
    runClassify([images[0]], { server: server.url, model: "tiny", key: keyFile, top: 3, resize: 16, crop: 16 }),
  );
  assert.match(table, /top-3 classes \(probability\)\n.*0\.png\s+class\d \d+\.\d%, class\d/);
});

test("a wrong key, a wrong size or an unreadable file is refused before any infer request reaches the server", async () => {
  const count = async () => {
    const m = await (await fetch(`${server.url}/metrics`)).text();
    return [...m.matchAll(/^nv_inference_request_(?:success|failure)\{[^}]*\} (\d+)/gm)].reduce(
      (a, x) => a + Number(x[1]),
      0,
    );
  };
  const before = await count();
  const wrong = await cli("classify", "--server", server.url, "--model", "tiny", "--key", otherKey, images[0]);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /is not the key model 'tiny' was trained for .*nothing was sent/);
  const o = { server: server.url, model: "tiny", key: keyFile, top: 3 };
  await assert.rejects(
    runClassify([images[0]], o),
    /0\.png: 40×30 after \{\}, the model takes 16×16 \(use --resize\/--crop\)/,
  );
  await assert.rejects(runClassify([join(t.dir, "nope.png")], o), /nope\.png: cannot read \(ENOENT\)/);
  await assert.rejects(runClassify([images[0]], { ...o, model: "absent" }), /HTTP 404: unknown model 'absent'/);
  assert.equal(await count(), before, "no infer request may reach the server");
});

test("a server that accepts and never answers does not hold the client: ClientError naming the URL and the deadline", async () => {
  const held = new Set<import("node:net").Socket>();
  const stall = createServer((s) => held.add(s)); // reads nothing, answers nothing
  await new Promise<void>((r) => stall.listen(0, "127.0.0.1", r));
  const port = (stall.address() as { port: number }).port;
  try {
    const t0 = performance.now();
    await assert.rejects(
      fetchModel(`http://127.0.0.1:${port}`, "m", 300),
      (e: unknown) => e instanceof ClientError && /\/v2\/models\/m: no answer within 300 ms/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 5000);
  } finally {
    for (const s of held) s.destroy();
    await new Promise((r) => stall.close(r));
  }
});
