/**
 * Dataset encryption benchmark: `ercnn encrypt`'s path (archive read → worker decode + encrypt → store shards) on
 * CIFAR-10 train (50k JPEGs straight from cifar10.tar.gz) against bench/encrypt_study.py, the study-style generator
 * (PIL decode, per-block numpy encryption, one .npy per image), in the same run.
 *
 *   node --import tsx bench/encrypt-cifar.ts [--limit N] [--workers 2] [--vectorized]
 *
 * The Python script reads the archive unpacked once into the cache (unpacking is not timed: it gets a head start);
 * ercnn's time includes reading and gunzipping the archive.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKey } from "../src/cipher/index.ts";
import { limitSource } from "../src/cli/commands/encrypt.ts";
import { archiveRoot, readArchiveImages, unpackArchive } from "../src/data/archive.ts";
import { encryptDataset } from "../src/data/encrypt-dataset.ts";
import { findDataFile } from "../src/data/presets.ts";

const args = process.argv.slice(2);
const opt = (name: string, def?: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const limit = Number(opt("--limit", "0"));
const workers = Number(opt("--workers", "2"));
const archive = findDataFile("cifar10.tar.gz");
if (!archive) throw new Error("cifar10.tar.gz not found ($ERCNN_DATA or ../shared/data)");
const tmp = mkdtempSync(join(tmpdir(), "ercnn-bench-"));

try {
  const key = await generateKey({ blockSize: 4, seed: "bench" });
  const t0 = performance.now();
  let source = await readArchiveImages(archive, { split: "train" });
  if (limit) source = limitSource(source, limit);
  const tRead = (performance.now() - t0) / 1000;
  const res = await encryptDataset({ source, out: join(tmp, "store"), key, workers });
  const ours = (performance.now() - t0) / 1000;
  const n = res.meta.count;
  console.log(
    `ercnn encrypt: ${n} images in ${ours.toFixed(2)} s (archive read ${tRead.toFixed(2)} s) = ${Math.round(n / ours)} img/s`,
  );
  rmSync(join(tmp, "store"), { recursive: true, force: true });

  const root = join(archiveRoot(await unpackArchive(archive)), "train");
  const runPy = (extra: string[]) => {
    const r = spawnSync(
      "/usr/bin/python3",
      [
        "bench/encrypt_study.py",
        root,
        join(tmp, "py"),
        "--block-size",
        "4",
        ...(limit ? ["--limit", String(limit)] : []),
        ...extra,
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
    rmSync(join(tmp, "py"), { recursive: true, force: true });
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
      images: number;
      seconds: number;
      imagesPerSecond: number;
    };
  };
  const py = runPy([]);
  console.log(
    `study-style python (per-block): ${py.images} images in ${py.seconds.toFixed(2)} s = ${Math.round(py.imagesPerSecond)} img/s`,
  );
  console.log(`speed-up: ${(py.seconds / ours).toFixed(2)}× (required ≥ 5×), ercnn ${ours < 60 ? "<" : "≥"} 60 s`);
  if (args.includes("--vectorized")) {
    const pv = runPy(["--vectorized"]);
    console.log(
      `python, vectorised numpy variant: ${pv.images} images in ${pv.seconds.toFixed(2)} s = ${Math.round(pv.imagesPerSecond)} img/s ` +
        `(ercnn ${(pv.seconds / ours).toFixed(2)}×)`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
