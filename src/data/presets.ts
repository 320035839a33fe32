/**
 * Dataset presets and data location.
 *  - cifar10: 10 classes, 32×32, k=4 (the study's dataset 1). From cifar10.tar.gz (JPEG folders), else the official
 *    binary archive (cifar-10-binary.tar.gz, downloadable).
 *  - tiny50: 50 Tiny-ImageNet classes (a seeded choice), 64×64, k=8, with the other 150 classes as the plain
 *    pretraining set (a CPU-sized analogue of the study's dataset 2 / approach one). Test split = Tiny-ImageNet val.
 * Archives are looked up in $ERCNN_DATA, then ../shared/data relative to the repository.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir, readArchiveImages, readTarMembers } from "./archive.ts";
import { readCifarBinary } from "./cifar-binary.ts";
import { CIFAR10_BINARY } from "./download.ts";
import { DataError } from "./errors.ts";
import type { ImageSource } from "./source.ts";
import { disjointClassSplit } from "./splits.ts";

export type PresetName = "cifar10" | "tiny50";
export type PresetPart = "encrypted" | "pretrain";

export interface Preset {
  name: PresetName;
  description: string;
  blockSize: number;
  size: number;
  numClasses: number;
  archive: string;
  testSplit: string;
}

export const PRESETS: Record<PresetName, Preset> = {
  cifar10: {
    name: "cifar10",
    description: "CIFAR-10, 10 classes, 32×32, k=4 (the study's dataset 1)",
    blockSize: 4,
    size: 32,
    numClasses: 10,
    archive: "cifar10.tar.gz",
    testSplit: "test",
  },
  tiny50: {
    name: "tiny50",
    description: "50 Tiny-ImageNet classes, 64×64, k=8; the other 150 classes for plain pretraining",
    blockSize: 8,
    size: 64,
    numClasses: 50,
    archive: "tiny-imagenet-200.tar.gz",
    testSplit: "val",
  },
};

export const TINY50_SEED = "tiny50";

export function isPreset(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** Candidate data directories, in lookup order. */
export function dataDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.ERCNN_DATA) dirs.push(process.env.ERCNN_DATA);
  dirs.push(fileURLToPath(new URL("../../../shared/data", import.meta.url)));
  return dirs;
}

/** Finds a data file in $ERCNN_DATA, ../shared/data, or the download cache. */
export function findDataFile(name: string): string | null {
  for (const d of [...dataDirs(), join(cacheDir(), "downloads")]) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return null;
}

export interface PresetSourceOptions {
  split?: "train" | "test";
  part?: PresetPart;
}

/** The source for a preset's split and part (tiny50: "encrypted" 50 classes or "pretrain" 150 classes). */
export async function presetSource(
  name: PresetName,
  opts: PresetSourceOptions = {},
): Promise<{ source: ImageSource; preset: Preset; info: Record<string, unknown> }> {
  const preset = PRESETS[name];
  const split = opts.split ?? "train";
  const part = opts.part ?? "encrypted";
  const info: Record<string, unknown> = { preset: name, split, part };
  if (name === "cifar10") {
    if (part !== "encrypted") throw new DataError("preset cifar10 has no pretraining part", "BAD_PRESET");
    const jpg = findDataFile(preset.archive);
    if (jpg) return { source: await readArchiveImages(jpg, { split }), preset, info: { ...info, archive: jpg } };
    const bin = findDataFile(CIFAR10_BINARY.file);
    if (bin) return { source: await readCifarBinary(bin, split), preset, info: { ...info, archive: bin } };
    throw new DataError(
      `CIFAR-10 not found (looked for ${preset.archive} and ${CIFAR10_BINARY.file} in ${dataDirs().join(", ")} and ` +
        `${join(cacheDir(), "downloads")}); run with --download to fetch the official archive`,
      "NO_DATA",
    );
  }
  const file = findDataFile(preset.archive);
  if (!file)
    throw new DataError(`${preset.archive} not found in ${dataDirs().join(", ")} (set $ERCNN_DATA)`, "NO_DATA");
  const meta = await readTarMembers(file, (p) => p.endsWith("/wnids.txt") || p.endsWith("/words.txt"));
  const text = (suffix: string) => {
    const k = [...meta.keys()].find((p) => p.endsWith(suffix));
    return k ? new TextDecoder().decode(meta.get(k)) : "";
  };
  const wnids = text("/wnids.txt")
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean)
    .sort();
  if (wnids.length !== 200)
    throw new DataError(`${file}: wnids.txt lists ${wnids.length} classes, expected 200`, "BAD_DATA");
  const words = new Map<string, string>();
  for (const line of text("/words.txt").split("\n")) {
    const [id, names] = line.split("\t");
    if (id && names) words.set(id.trim(), names.split(",")[0].trim());
  }
  const { encrypted, pretrain } = disjointClassSplit(wnids, preset.numClasses, TINY50_SEED);
  const classes = part === "encrypted" ? encrypted : pretrain;
  const source = await readArchiveImages(file, { split: split === "train" ? "train" : preset.testSplit, classes });
  source.classNames = classes.map((c) => words.get(c) ?? c);
  return { source, preset, info: { ...info, archive: file, classSplitSeed: TINY50_SEED } };
}
