import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { shortFingerprint } from "../../cipher/index.ts";
import { isHillKey, type SchemeKey, schemeOf } from "../../cipher/schemes/index.ts";
import { isArchive, readArchiveImages } from "../../data/archive.ts";
import { isCifarBinary, readCifarBinary } from "../../data/cifar-binary.ts";
import { downloadCifar10 } from "../../data/download.ts";
import { encryptDataset } from "../../data/encrypt-dataset.ts";
import { DataError } from "../../data/errors.ts";
import { readImageFolder } from "../../data/image-folder.ts";
import { checkExportKey, declaredKey, readPageExport, readPageManifest } from "../../data/page-export.ts";
import { isPreset, PRESETS, type PresetName, type PresetPart, presetSource } from "../../data/presets.ts";
import { permutation } from "../../data/rng.ts";
import { loadSchemeKey } from "../../data/scheme-keyfile.ts";
import { type ImageSource, selectClasses } from "../../data/source.ts";
import { isStore } from "../../data/store.ts";
import { isStudyLayout, readStudyLayout } from "../../data/study-layout.ts";
import { jpegQuality, positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";

export interface EncryptCliOptions {
  out: string;
  key?: string;
  plain?: boolean;
  preset?: string;
  part?: string;
  split?: string;
  classes?: string;
  resize?: number;
  crop?: number;
  jpegQuality?: number;
  shardSize?: number;
  workers?: number;
  skipBad?: boolean;
  overwrite?: boolean;
  limit?: number;
  download?: boolean;
  json?: boolean;
}

/** Resolves the input (path or preset) to a source. */
export async function resolveSource(
  input: string | undefined,
  o: EncryptCliOptions,
): Promise<{ source: ImageSource; info: Record<string, unknown>; blockSize?: number }> {
  const presetName = o.preset ?? (input && isPreset(input) && !existsSync(input) ? input : undefined);
  if (presetName) {
    if (!isPreset(presetName)) throw new DataError(`unknown preset '${presetName}' (cifar10, tiny50)`, "BAD_PRESET");
    const split = (o.split ?? "train") as "train" | "test";
    if (split !== "train" && split !== "test")
      throw new DataError("--split must be train or test for presets", "BAD_SPLIT");
    try {
      const r = await presetSource(presetName as PresetName, { split, part: (o.part ?? "encrypted") as PresetPart });
      return { source: r.source, info: r.info, blockSize: r.preset.blockSize };
    } catch (e) {
      if (!(e instanceof DataError && e.code === "NO_DATA" && presetName === "cifar10" && o.download)) throw e;
      const bar = createProgress({ label: "download cifar-10-binary.tar.gz", total: 170052171, unit: "B" });
      await downloadCifar10(undefined, { onProgress: (d, t) => bar.update(d, t) });
      bar.stop();
      const r = await presetSource("cifar10", { split });
      return { source: r.source, info: r.info, blockSize: PRESETS.cifar10.blockSize };
    }
  }
  if (!input)
    throw new DataError("give an input (folder, archive, CIFAR binary, study layout) or --preset", "NO_INPUT");
  if (!existsSync(input)) throw new DataError(`${input} does not exist`, "NOT_FOUND");
  const split = o.split;
  const info: Record<string, unknown> = { input, ...(split ? { split } : {}) };
  if (statSync(input).isDirectory()) {
    if (isStore(input)) throw new DataError(`${input} is already a store; use ercnn decrypt or inspect`, "IS_STORE");
    if (isStudyLayout(input)) return { source: readStudyLayout(input, (split ?? "train") as "train" | "test"), info };
    if (isCifarBinary(input))
      return { source: await readCifarBinary(input, (split ?? "train") as "train" | "test"), info };
    const dir = split && existsSync(join(input, split)) ? join(input, split) : input;
    return { source: readImageFolder(dir), info };
  }
  if (isCifarBinary(input))
    return { source: await readCifarBinary(input, (split ?? "train") as "train" | "test"), info };
  if (isArchive(input)) return { source: await readArchiveImages(input, { split }), info };
  throw new DataError(`${input}: not a folder, .tar.gz archive, CIFAR binary batches or study layout`, "BAD_INPUT");
}

/** A class-balanced-ish seeded subset of n items, kept in source order. */
export function limitSource(src: ImageSource, n: number, seed = 0): ImageSource {
  if (n >= src.items.length) return src;
  const p = permutation(src.items.length, seed, 0x11);
  const keep = Array.from(p.subarray(0, n)).sort((a, b) => a - b);
  return {
    ...src,
    items: keep.map((i) => src.items[i]),
    description: `${src.description} (first ${n} of a seeded shuffle)`,
  };
}

export async function runEncrypt(input: string | undefined, o: EncryptCliOptions): Promise<void> {
  // A page export (web/) carries its key's identity: the provider imports it without the key.
  const page = input && !o.preset ? await readPageManifest(input) : null;
  if (page && o.plain) throw new DataError(`${input} holds ciphertexts (a page export); drop --plain`, "BAD_ARGS");
  if (!o.key && !o.plain && !page)
    throw new DataError("give --key <file> (or --plain for an unencrypted store)", "NO_KEY");
  if (o.key && o.plain) throw new DataError("--key and --plain exclude each other", "BAD_ARGS");
  const key: SchemeKey | null = o.key ? await loadSchemeKey(o.key) : page ? declaredKey(page, input!) : null;
  if (page && key) checkExportKey(page, key, input!);
  let { source, info, blockSize } = page
    ? {
        source: await readPageExport(input!, page),
        info: { input, decode: page.decode },
        blockSize: page.key.blockSize,
      }
    : await resolveSource(input, o);
  // a preset's block size is only its default (the cipher itself refuses blocks that do not tile the images, e.g.
  // tiny50 at k = 16 is the study's approach-one key size); an exported page's is the key it was made with
  if (key && blockSize && key.blockSize !== blockSize && page)
    throw new DataError(`the page uses block size k=${blockSize} but the key has k=${key.blockSize}`, "BLOCK_SIZE");
  if (o.classes)
    source = selectClasses(
      source,
      o.classes
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    );
  if (o.limit) source = limitSource(source, o.limit);
  const total = source.items.length;
  const log = (s: string) => {
    if (!o.json) process.stderr.write(`${s}\n`);
  };
  log(
    `encrypt ${source.description}: ${total} images, ${source.classes.length} classes → ${o.out} ` +
      `(${key ? `key ${shortFingerprint(key)}, k=${key.blockSize}, ${keyKind(key)}` : "plain"})`,
  );
  let bar: ReturnType<typeof createProgress> | null = null;
  const res = await encryptDataset({
    source,
    out: o.out,
    key,
    decode: {
      ...(o.resize ? { resize: o.resize } : {}),
      ...(o.crop ? { crop: o.crop } : {}),
      ...(o.jpegQuality ? { jpeg: o.jpegQuality } : {}),
    },
    shardSize: o.shardSize,
    workers: o.workers,
    skipBad: o.skipBad,
    overwrite: o.overwrite,
    sourceInfo: info,
    onProgress: (done, t) => {
      if (o.json) return;
      bar ??= createProgress({ label: "encrypt", total: t, unit: "img", start: done });
      bar.update(done, t);
    },
  });
  (bar as ReturnType<typeof createProgress> | null)?.stop();
  const m = res.meta;
  const summary = {
    store: o.out,
    images: m.count,
    written: res.written,
    resumedFrom: res.alreadyDone,
    skipped: res.skipped.length,
    shards: m.shards.length,
    shape: m.shape,
    complete: m.complete,
    key: m.key?.fingerprint ?? null,
    seconds: Number(res.seconds.toFixed(3)),
    imagesPerSecond: res.written > 0 ? Math.round(res.written / res.seconds) : 0,
    repaired: res.repaired,
    transparent: res.transparent.length,
    warnings: importWarnings(res),
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  for (const r of res.repaired) log(`repaired: ${r}; that shard was encrypted again`);
  if (o.workers && res.workers && res.workers < o.workers)
    log(
      `note: -w ${o.workers} capped: used ${res.workers} worker thread${res.workers > 1 ? "s" : ""} (at most one per ` +
        `CPU core, ${availableParallelism()} here, and one per chunk of images; more would only contend)`,
    );
  for (const w of summary.warnings) log(`warning: ${w}`);
  if (res.resumed && res.alreadyDone > 0) log(`resumed: ${res.alreadyDone} images were already in the store`);
  for (const s of res.skipped.slice(0, 10)) log(`skipped ${s.name}: ${s.reason}`);
  if (res.skipped.length > 10) log(`… and ${res.skipped.length - 10} more skipped`);
  process.stdout.write(
    `store ${o.out}: ${m.count} images in ${m.shards.length} shard(s), ${m.shape.join("×")}, ` +
      `${res.skipped.length} skipped, ${res.written} written in ${res.seconds.toFixed(1)} s` +
      `${res.written ? ` (${summary.imagesPerSecond} img/s)` : ""}\n`,
  );
}

/** A key's scheme and, for Hill keys, its kind, as the log line shows them. */
function keyKind(key: SchemeKey): string {
  if (!isHillKey(key)) return `scheme ${schemeOf(key)}`;
  return `${key.mode}${key.scramble ? ", block scrambling" : ""}`;
}

/**
 * What the user must hear about an import that did not stop it. Alpha: a warning, not an error, since many PNG
 * datasets carry an alpha channel; the stored RGB is what PIL's convert("RGB") gives (transparent pixels keep their
 * stored colour), which may not be what the picture shows.
 */
function importWarnings(res: Awaited<ReturnType<typeof encryptDataset>>): string[] {
  const out = [...res.warnings];
  const t = res.transparent;
  if (t.length)
    out.push(
      `${t.length} image(s) had transparent pixels; their alpha channel was dropped and the stored colour kept, ` +
        `like PIL's convert("RGB") (flatten them onto a background first if that matters): ${t.slice(0, 3).join(", ")}` +
        `${t.length > 3 ? ", …" : ""}`,
    );
  return out;
}

export function encryptCommand(): Command {
  return new Command("encrypt")
    .description(
      "encrypt a dataset (image folder, .tar.gz archive, CIFAR-10 binary batches, the study's .npy layout, or a preset) into a store",
    )
    .argument(
      "[input]",
      "folder root/<class>/*.jpg, archive .tar.gz, cifar-10-batches-bin, study layout dir, or preset name",
    )
    .requiredOption(
      "-o, --out <dir>",
      "store directory (resumed if it holds an unfinished store of the same input and key)",
    )
    .option("-k, --key <file>", "key file of any scheme (ercnn keygen JSON or the study's .npy); its scheme is used")
    .option("--plain", "write an unencrypted store (pretraining, plain baseline)")
    .addOption(new Option("--preset <name>", "dataset preset").choices(["cifar10", "tiny50"]))
    .addOption(
      new Option("--part <part>", "tiny50: the 50 encrypted classes or the 150 pretraining classes").choices([
        "encrypted",
        "pretrain",
      ]),
    )
    .option(
      "-s, --split <name>",
      "split: train|test for presets/CIFAR binary; sub-folder name (train, test, val) for folders and archives",
    )
    .option("--classes <list>", "comma-separated subset of class ids, in label order")
    .option(
      "--resize <n>",
      "resize the shorter side to n pixels (bilinear), like torchvision Resize(n)",
      positiveInteger,
    )
    .option("--crop <n>", "centre-crop to n×n after resizing, like CenterCrop(n)", positiveInteger)
    .option(
      "--jpeg-quality <q>",
      "after resizing and cropping, re-encode each image as JPEG at quality q (1-100, 4:2:0 chroma): reference photos " +
        "for the attack that carry the compression of the data (the shared CIFAR-10: 75)",
      jpegQuality,
    )
    .option("--shard-size <n>", "images per shard (default 5000, fewer for large images)", positiveInteger)
    .option(
      "-w, --workers <n>",
      "worker threads for decoding and encryption (default: cores; capped at the cores and the chunks to encrypt)",
      positiveInteger,
    )
    .option("--skip-bad", "skip corrupt or unreadable images (counted and listed in meta.json) instead of failing")
    .option(
      "--overwrite",
      "replace an existing store at --out instead of resuming it (the new store is built aside and swapped in once complete)",
    )
    .option("--limit <n>", "encrypt only n images (a seeded subset, for quick runs)", positiveInteger)
    .option("--download", "download CIFAR-10 (official binary archive, checksum verified) if it is not found")
    .option("--json", "print a JSON summary on stdout and no progress")
    .addHelpText(
      "after",
      "\nExamples:\n  ercnn keygen --preset cifar10 -o key.json\n  ercnn encrypt --preset cifar10 -k key.json -o stores/cifar10-train\n" +
        "  ercnn encrypt --preset cifar10 --split test -k key.json -o stores/cifar10-test\n" +
        "  ercnn encrypt --preset tiny50 --part pretrain --plain -o stores/tiny150-plain\n" +
        "  ercnn encrypt photos/ --resize 256 --crop 224 -k key8.json -o stores/photos\n" +
        "  ercnn encrypt --preset tiny50 --part pretrain --plain --resize 32 --jpeg-quality 75 -o stores/ref32-q75\n",
    )
    .action(async (input: string | undefined, o: EncryptCliOptions) => runEncrypt(input, o));
}
