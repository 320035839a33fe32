// Pretrained weights by name against a local HTTP server (these machines reach no model hub): the torchvision file
// name's sha256 prefix is enforced, an interrupted download resumes with Range, the cache is hit once filled, and
// the downloaded backbone's logits equal those of the same file loaded locally; timm files are verified against the
// sha256 Hugging Face publishes in X-Linked-Etag (on the resolve URL's redirect to its CDN, as the real hub does).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { hfPublishedSha256, hubSource, resolvePretrained, torchHubCheckpoints } from "../../src/models/hub.ts";
import { createBackbone, loadBackboneWeightsFile } from "../../src/models/index.ts";
import { manualSeed, noGrad, randn, saveSafetensors } from "../../src/torch/index.ts";

let dir: string;
let server: Server;
let base: string;
let weightsFile: string;
let bytes: Buffer;
const requests: { method: string; path: string; range: string | undefined }[] = [];
/** Hugging Face's layout: the resolve URL redirects (302) to the CDN copy and carries these headers (ETags). */
const redirects = new Map<string, { to: string; headers: Record<string, string> }>();
/** Paths whose first response is cut after this many bytes. */
const cutOnce = new Map<string, number>();
const files = new Map<string, Buffer>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-hub-"));
  manualSeed(5);
  const net = createBackbone("resnet20", { numClasses: 10 });
  weightsFile = join(dir, "local.safetensors");
  await saveSafetensors(weightsFile, net.stateDict());
  net.dispose();
  bytes = readFileSync(weightsFile);
  server = createServer((req, res) => {
    const path = req.url ?? "";
    requests.push({ method: req.method ?? "", path, range: req.headers.range });
    const hop = redirects.get(path);
    if (hop) {
      res.writeHead(302, { location: hop.to, ...hop.headers }).end();
      return;
    }
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    const part = body.subarray(start);
    res.writeHead(m ? 206 : 200, { "content-length": part.length, "accept-ranges": "bytes" });
    const cut = cutOnce.get(path);
    if (cut !== undefined) {
      cutOnce.delete(path);
      res.write(part.subarray(0, cut), () => res.destroy());
      return;
    }
    res.end(part);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/models/`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("--pretrained by name", () => {
  it("torchvision: interrupted download resumed with Range, checksum prefix verified, cached, logits equal a local load", async () => {
    const file = `resnet20-${sha(bytes).slice(0, 8)}.pth`;
    files.set(`/models/${file}`, bytes);
    cutOnce.set(`/models/${file}`, Math.floor(bytes.length / 3));
    const cache = join(dir, "cache1");
    const o = { dir: cache, torchvisionBaseUrl: base, weights: { resnet20: { TEST_V1: file } } };
    requests.length = 0;
    const got = await resolvePretrained("torchvision:resnet20.TEST_V1", o);
    assert.equal(got, join(cache, file));
    // the second request continues after the bytes that arrived (at most the third the server sent)
    assert.equal(requests.length, 2);
    assert.equal(requests[0].range, undefined);
    const from = Number(/^bytes=(\d+)-$/.exec(requests[1].range ?? "")?.[1]);
    assert.ok(from > 0 && from <= Math.floor(bytes.length / 3), `resumed from ${requests[1].range}`);
    assert.equal(sha(readFileSync(got)), sha(bytes));
    requests.length = 0;
    assert.equal(await resolvePretrained("torchvision:resnet20.TEST_V1", o), got);
    assert.equal(requests.length, 0, "a cached file is not fetched again");

    const [a, b] = [createBackbone("resnet20", { numClasses: 10 }), createBackbone("resnet20", { numClasses: 10 })];
    await loadBackboneWeightsFile(a, got);
    await loadBackboneWeightsFile(b, weightsFile);
    a.eval();
    b.eval();
    const x = randn([2, 3, 32, 32]);
    const [la, lb] = noGrad(() => [a.forward(x).toArray(), b.forward(x).toArray()]);
    assert.deepEqual(la, lb);
    a.dispose();
    b.dispose();
  });

  it("a file whose sha256 does not match its published name is refused and nothing is cached", async () => {
    const file = `resnet20-deadbeef.pth`;
    files.set(`/models/${file}`, bytes);
    const cache = join(dir, "cache2");
    await assert.rejects(
      resolvePretrained("torchvision:resnet20.BAD_V1", {
        dir: cache,
        torchvisionBaseUrl: base,
        weights: { resnet20: { BAD_V1: file } },
      }),
      /checksum mismatch .*does not start with deadbeef/,
    );
    assert.deepEqual(existsSync(cache) ? readdirSync(cache) : [], []);
  });

  it("timm:<name> from the Hugging Face layout, verified against a given sha256", async () => {
    files.set("/models/timm/tiny_net.test/resolve/main/model.safetensors", bytes);
    const cache = join(dir, "cache3");
    const p = await resolvePretrained("timm:tiny_net.test", { dir: cache, hfBaseUrl: base, sha256: sha(bytes) });
    assert.equal(p, join(cache, "timm-tiny_net.test.safetensors"));
    await assert.rejects(
      resolvePretrained("timm:tiny_net.test", { dir: join(dir, "cache4"), hfBaseUrl: base, sha256: "0".repeat(64) }),
      /checksum mismatch/,
    );
  });

  it("timm:<name> without a sha256: verified against the hub's X-Linked-Etag; a wrong one is refused, nothing cached", async () => {
    const resolve = "/models/timm/etag_net.test/resolve/main/model.safetensors";
    files.set("/cdn/etag_net.safetensors", bytes);
    redirects.set(resolve, {
      to: "/cdn/etag_net.safetensors",
      headers: { "x-linked-etag": `"${sha(bytes)}"`, etag: `W/"${"1".repeat(40)}"` },
    });
    const lines: string[] = [];
    requests.length = 0;
    const p = await resolvePretrained("timm:etag_net.test", {
      dir: join(dir, "cache5"),
      hfBaseUrl: base,
      onVerify: (l) => lines.push(l),
    });
    assert.equal(sha(readFileSync(p)), sha(bytes));
    assert.deepEqual(lines, ["verified against the sha256 the hub publishes (X-Linked-Etag/ETag)"]);
    assert.deepEqual(
      requests[0],
      { method: "HEAD", path: resolve, range: undefined },
      "HEAD first, as huggingface_hub",
    );

    redirects.set(resolve, { to: "/cdn/etag_net.safetensors", headers: { "x-linked-etag": `"${"ab".repeat(32)}"` } });
    const cache = join(dir, "cache6");
    await assert.rejects(
      resolvePretrained("timm:etag_net.test", { dir: cache, hfBaseUrl: base }),
      /--pretrained timm:etag_net\.test: checksum mismatch .*expected abab.*X-Linked-Etag.*discarded/,
    );
    assert.deepEqual(existsSync(cache) ? readdirSync(cache) : [], []);
  });

  it("ETag without X-Linked-Etag is used when it is a sha256; a git sha1 ETag or none means no published hash", async () => {
    const url = (p: string) => new URL(p, base).href;
    files.set("/models/plain-etag", bytes);
    redirects.set("/models/strong", { to: "/models/plain-etag", headers: { etag: `"${sha(bytes)}"` } });
    redirects.set("/models/sha1", { to: "/models/plain-etag", headers: { etag: `"${"2".repeat(40)}"` } });
    assert.equal(await hfPublishedSha256(url("strong")), sha(bytes));
    assert.equal(await hfPublishedSha256(url("sha1")), null);
    assert.equal(await hfPublishedSha256(url("plain-etag")), null);
    const lines: string[] = [];
    files.set("/models/timm/no_etag.test/resolve/main/model.safetensors", bytes);
    await resolvePretrained("timm:no_etag.test", {
      dir: join(dir, "cache7"),
      hfBaseUrl: base,
      onVerify: (l) => lines.push(l),
    });
    assert.deepEqual(lines, ["not verified: the hub publishes no sha256 for it"]);
  });

  it("names: the published torchvision file and cache folder; clear errors for unknown models and weights", () => {
    assert.deepEqual(hubSource("torchvision:convnext_base.IMAGENET1K_V1"), {
      url: "https://download.pytorch.org/models/convnext_base-6075fbad.pth",
      file: "convnext_base-6075fbad.pth",
      hash: "6075fbad",
    });
    assert.equal(torchHubCheckpoints({ TORCH_HOME: "/x/t" }), "/x/t/hub/checkpoints");
    assert.equal(torchHubCheckpoints({ XDG_CACHE_HOME: "/c", HOME: "/h" }), "/c/torch/hub/checkpoints");
    assert.throws(
      () => hubSource("torchvision:resnet50.IMAGENET1K_V9"),
      /resnet50 has no weights 'IMAGENET1K_V9'.*resnet50\.IMAGENET1K_V2/,
    );
    assert.throws(() => hubSource("torchvision:vgg16.IMAGENET1K_V1"), /no torchvision weights for 'vgg16'/);
    assert.throws(() => hubSource("hf:x"), /unknown hub 'hf'/);
  });
});
