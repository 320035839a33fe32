import { Command, Option } from "commander";
import type { KeyMode } from "../../cipher/index.ts";
import { generateSchemeKey, SCHEME_NAMES, SCHEMES, type SchemeName, schemeOf } from "../../cipher/schemes/index.ts";
import { isPreset, PRESETS, type PresetName } from "../../data/presets.ts";
import { saveSchemeKey } from "../../data/scheme-keyfile.ts";
import { positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";

export function keygenCommand(): Command {
  return new Command("keygen")
    .description("generate a secret block-cipher key (one k²×k² matrix per channel) and save it with mode 0600")
    .requiredOption("-o, --out <file>", "key file to write (JSON)")
    .option("-b, --block-size <k>", "block size k (image sides must be multiples of k)", positiveInteger)
    .option("--preset <name>", "take the block size from a preset (cifar10: 4, tiny50: 8)")
    .addOption(
      new Option("-m, --mode <mode>", "key kind").choices(["uniform", "orthogonal", "mod256"]).default("uniform"),
    )
    .option("-c, --channels <n>", "channels (one matrix each)", positiveInteger, 3)
    .addOption(
      new Option(
        "--scheme <name>",
        `encryption scheme (recorded in the key file; docs/schemes.md):\n${SCHEMES.map((s) => `  ${s.name}: ${s.title}`).join("\n")}\n`,
      )
        .choices([...SCHEME_NAMES])
        .default("hill"),
    )
    .option(
      "--scramble",
      "add block scrambling: a secret permutation of block positions (derived from a secret seed, for any image " +
        "size) applied before the Hill cipher; see docs/audit.md for what it costs and what it leaves exposed",
    )
    .option("--seed <seed>", "deterministic key from a seed (for experiments only; a seeded key is not secret)")
    .option("-f, --force", "overwrite an existing key file")
    .action(async (o) => {
      let k: number | undefined = o.blockSize;
      if (o.preset) {
        if (!isPreset(o.preset as string)) throw new Error(`unknown preset '${o.preset}' (cifar10, tiny50)`);
        k ??= PRESETS[o.preset as PresetName].blockSize;
      }
      if (!k || !Number.isInteger(k) || k < 1)
        throw new Error("give --block-size <k> (a positive integer) or --preset");
      // Above k = 8 each channel's invertibility check takes a noticeable time (about 1 s per channel at k = 32).
      const bar = k > 8 ? createProgress({ label: `keygen k=${k}`, total: o.channels, unit: "channel" }) : null;
      const scheme = (o.scramble && o.scheme === "hill" ? "hill-scramble" : o.scheme) as SchemeName;
      if (o.scramble && scheme !== "hill-scramble")
        throw new Error(`--scramble is for Hill keys, not --scheme ${scheme}`);
      const key = await generateSchemeKey({
        scheme,
        mode: scheme.startsWith("hill") || o.mode !== "uniform" ? (o.mode as KeyMode) : undefined,
        blockSize: k,
        channels: o.channels,
        seed: o.seed,
        onChannel: (done, total) => bar?.update(done, total),
      });
      bar?.stop();
      await saveSchemeKey(o.out, key, { force: !!o.force });
      const kind = "mode" in key ? `${key.mode} key` : "key";
      process.stdout.write(
        `wrote ${o.out}: ${schemeOf(key)} ${kind}, k=${key.blockSize}, ${key.channels} channels, ` +
          `${scheme === "hill-scramble" ? "block scrambling, " : ""}fingerprint ${key.fingerprint.slice(0, 16)}\n`,
      );
    });
}
