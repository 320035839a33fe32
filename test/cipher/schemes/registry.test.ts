import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KeyError } from "../../../src/cipher/key.ts";
import {
  DEFAULT_SCHEME,
  decryptWith,
  encryptWith,
  generateSchemeKey,
  SCHEME_NAMES,
  SCHEMES,
  schemeKeyFromJson,
  schemeKeyToJson,
  schemeOf,
} from "../../../src/cipher/schemes/registry.ts";
import type { SchemeName } from "../../../src/cipher/schemes/types.ts";
import { testRng } from "../helpers.ts";

const SEEDED: SchemeName[] = ["pixel-shuffle-np", "le", "etc", "ffx"];

function randomBytes(n: number, seed: number): Uint8Array {
  const r = testRng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

describe("scheme registry", () => {
  it("lists the six schemes with a key space for k = 4, C = 3", () => {
    assert.deepEqual(SCHEME_NAMES, ["hill", "hill-scramble", "pixel-shuffle-np", "le", "etc", "ffx"]);
    assert.equal(DEFAULT_SCHEME, "hill");
    for (const s of SCHEMES) {
      const ks = s.keySpace(4, 3, { gh: 8, gw: 8 });
      assert.ok(ks.bits > 90, `${s.name}: ${ks.bits} bits`);
      assert.ok(ks.description.length > 20);
    }
    // pixel-shuffle-np: log2(16!) + log2(3!) + 48 = 44.25 + 2.58 + 48
    const psnp = SCHEMES.find((s) => s.name === "pixel-shuffle-np")?.keySpace(4, 3);
    assert.ok(Math.abs((psnp?.bits ?? 0) - 94.835) < 0.01, String(psnp?.bits));
  });

  for (const scheme of SEEDED)
    it(`${scheme}: decrypt(encrypt(x)) = x exactly on random uint8 images (CHW and HWC), float32 on the 1/255 grid`, async () => {
      const key = await generateSchemeKey({ scheme, blockSize: 4, channels: 3, seed: `rt-${scheme}` });
      assert.equal(schemeOf(key), scheme);
      for (const layout of ["CHW", "HWC"] as const) {
        const dims = { n: 2, c: 3, h: 8, w: 12, layout };
        const x = randomBytes(2 * 3 * 8 * 12, 5);
        const c = encryptWith(x, dims, key);
        assert.ok(c instanceof Uint8Array);
        let same = 0;
        for (let i = 0; i < x.length; i++) same += c[i] === x[i] ? 1 : 0;
        assert.ok(same < x.length * 0.2, `${same} of ${x.length} values unchanged`);
        assert.deepEqual(decryptWith(c, dims, key), x);
        const f = Float32Array.from(x, (v) => v / 255);
        const cf = encryptWith(f, dims, key);
        const back = decryptWith(cf, dims, key);
        for (let i = 0; i < x.length; i++) {
          assert.ok(Math.abs(back[i] - f[i]) <= 6e-8, `${scheme} float ${i}`);
          assert.ok(Math.abs(cf[i] * 255 - c[i]) < 1e-4, `${scheme}: float and uint8 ciphertexts agree at ${i}`);
        }
      }
    });

  it("hill and hill-scramble keep today's cipher (float round trip; uint8 with mod256 keys)", async () => {
    const dims = { n: 1, c: 3, h: 8, w: 8, layout: "CHW" as const };
    for (const scheme of ["hill", "hill-scramble"] as const) {
      const key = await generateSchemeKey({ scheme, blockSize: 4, channels: 3, seed: "hill" });
      assert.equal(schemeOf(key), scheme);
      const x = Float32Array.from(randomBytes(192, 9), (v) => v / 255);
      const back = decryptWith(encryptWith(x, dims, key), dims, key);
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i] - x[i]) < 1e-4);
      const m = await generateSchemeKey({ scheme, blockSize: 4, channels: 3, seed: "hill", mode: "mod256" });
      const u = randomBytes(192, 10);
      assert.deepEqual(decryptWith(encryptWith(u, dims, m), dims, m), u);
    }
  });

  it("key files record the scheme and round-trip; an old file without it loads as hill", async () => {
    for (const scheme of SCHEME_NAMES) {
      const key = await generateSchemeKey({ scheme, blockSize: 2, channels: 3, seed: "kf" });
      const text = schemeKeyToJson(key);
      assert.equal(JSON.parse(text).scheme, scheme);
      const back = await schemeKeyFromJson(text, "k.json");
      assert.equal(back.fingerprint, key.fingerprint);
      assert.equal(schemeOf(back), scheme);
      const dims = { c: 3, h: 4, w: 4, layout: "HWC" as const };
      const x = Float32Array.from(randomBytes(48, 3), (v) => v / 255);
      assert.deepEqual(encryptWith(x, dims, back), encryptWith(x, dims, key));
    }
    const fixture = join(import.meta.dirname, "..", "..", "fixtures", "key-before-scramble.json");
    const old = await schemeKeyFromJson(await readFile(fixture, "utf8"), fixture);
    assert.equal(schemeOf(old), "hill");
  });

  it("refuses unknown schemes, tampered seeds and a scheme that contradicts the key, naming the file", async () => {
    const key = await generateSchemeKey({ scheme: "le", blockSize: 2, channels: 3, seed: "bad" });
    const o = JSON.parse(schemeKeyToJson(key));
    const bad = async (mutate: (x: Record<string, unknown>) => void, re: RegExp) => {
      const c = structuredClone(o);
      mutate(c);
      await assert.rejects(schemeKeyFromJson(JSON.stringify(c), "my.key"), (e: Error) => {
        assert.ok(e instanceof KeyError);
        assert.match(e.message, /^my\.key: /);
        assert.match(e.message, re);
        return true;
      });
    };
    await bad((x) => (x.scheme = "rot13"), /scheme "rot13" is not one of hill, hill-scramble/);
    await bad((x) => (x.seed = `${"0".repeat(63)}1`), /fingerprint mismatch/);
    await bad((x) => (x.seed = "short"), /seed must be 64 lowercase hex/);
    await bad((x) => (x.extra = 1), /unknown field\(s\) extra/);
    const hill = JSON.parse(schemeKeyToJson(await generateSchemeKey({ scheme: "hill", blockSize: 2, seed: 1 })));
    hill.scheme = "hill-scramble";
    await assert.rejects(
      schemeKeyFromJson(JSON.stringify(hill), "h.key"),
      /h\.key: scheme is "hill-scramble" but the key has no block scrambling/,
    );
    // the Hill-only reader names what it was given
    const { keyFromJson } = await import("../../../src/cipher/key.ts");
    await assert.rejects(keyFromJson(schemeKeyToJson(key), "le.key"), /le\.key: a "le" key, not a Hill key/);
    // a scheme key is never used with another scheme's operation
    await assert.rejects(async () => {
      const { PIXEL_SHUFFLE_NP } = await import("../../../src/cipher/schemes/pixel-shuffle-np.ts");
      PIXEL_SHUFFLE_NP.encrypt(new Uint8Array(12), { c: 3, h: 2, w: 2, layout: "HWC" }, key);
    }, /needs a pixel-shuffle-np key, got a le key/);
  });
});
