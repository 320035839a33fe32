// One table (TRAIN_OPTIONS in src/train/config.ts) owns every training option: the train/pretrain command line, its
// help, the validation of flags and config files are derived from it. These tests hold the derivation to that.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { addTrainOptions, configFromFlags } from "../../src/cli/commands/train.ts";
import { DEFAULTS, resolveConfig, TRAIN_OPTIONS } from "../../src/train/index.ts";
import { tempDir } from "../data/helpers.ts";

const program = () => addTrainOptions(new Command("train").exitOverride().configureOutput({ writeErr: () => {} }));
const parse = (...args: string[]) => {
  const c = program().argument("<store>");
  c.parse([...args], { from: "user" });
  return configFromFlags(c.args[0], c.opts());
};

test("every row of the table is a flag of train/pretrain, and the CLI has no training flag outside it", () => {
  const longs = program().options.map((o) => o.long);
  for (const o of Object.values(TRAIN_OPTIONS)) assert.ok(longs.includes(o.flag.match(/--[a-z-]+/)![0]), o.flag);
  const rows = new Set(
    Object.values(TRAIN_OPTIONS).flatMap((o) => [o.flag, ...(o.aliases ?? [])].map((f) => f.match(/--[a-z-]+/)![0])),
  );
  const extra = longs.filter((l) => !rows.has(l!));
  assert.deepEqual(extra.sort(), ["--config", "--out", "--quiet", "--resume"]);
});

test("the help shows each option's default and choices from the table", () => {
  const help = program().helpInformation().replace(/\s+/g, " "); // one line: no wrapping to match across
  assert.match(help, /--lr <lr> learning rate \(the study's\) \(default 0\.002\)/);
  assert.match(help, /-b, --batch-size <n> batch size in images \(the study's\) \(default 32\)/);
  assert.match(
    help,
    /--optimizer <name> optimizer \(muon: .*\) \(default sgd\) \(choices: "sgd", "adam", "adamw", "muon"\)/,
  );
  assert.match(help, /--round-epochs <n> alias of -e, --epochs/);
  for (const [k, o] of Object.entries(TRAIN_OPTIONS))
    if (typeof o.default === "number") assert.ok(help.includes(`(default ${o.default})`), `${k} shows its default`);
});

test("flags map onto config fields by the table; flags override the config file; unset fields stay unset", () => {
  const t = tempDir("ercnn-config-");
  const file = join(t.dir, "cfg.json");
  writeFileSync(file, JSON.stringify({ lr: 0.1, epochs: 7, augment: "plain" }));
  const c = parse(
    "store",
    "-o",
    "out",
    "--config",
    file,
    "--lr",
    "0.05",
    "--adapt-init",
    "whiten",
    "--freeze",
    "backbone, head",
    "--block-flip",
    "--seed",
    "-3",
    "--round-epochs",
    "4",
  );
  assert.deepEqual(c, {
    train: "store",
    out: "out",
    lr: 0.05,
    epochs: 4,
    augment: "plain",
    adaptInit: "whiten",
    freeze: ["backbone", "head"],
    blockFlip: true,
    seed: -3,
  });
  t.cleanup();
});

test("bad values are refused on the command line, naming the flag", () => {
  for (const [args, re] of [
    [["-b", "2.5"], /--batch-size <n>.*'2\.5'.*positive integer/],
    [["-b", "0"], /--batch-size <n>.*'0'/],
    [["--lr", "abc"], /--lr <lr>.*'abc'.*number/],
    [["--optimizer", "rmsprop"], /--optimizer <name>.*'rmsprop'.*Allowed choices/],
    [["--workers", "-1"], /--workers <n>.*'-1'/],
  ] as [string[], RegExp][])
    assert.throws(() => parse("store", "-o", "out", ...args), re, args.join(" "));
});

test("config-file values are checked against the table's kinds, naming the field", () => {
  const base = { train: "s", out: "o" };
  assert.deepEqual(resolveConfig(base), { ...DEFAULTS, ...base });
  for (const [field, value, re] of [
    ["lr", "abc", /lr must be a number ≥ 0/],
    ["batchSize", 2.5, /batchSize must be a positive integer/],
    ["limit", 1, /limit must be an integer ≥ 2/],
    ["valFraction", 1, /valFraction must be in \[0, 1\)/],
    ["optimizer", "rmsprop", /optimizer must be one of sgd, adam, adamw/],
    ["nesterov", "yes", /nesterov must be true or false/],
    ["backbone", "resnet9000", /backbone must be one of/],
    ["freeze", ["everything"], /freeze must list parts among adapt, backbone, head/],
  ] as [string, unknown, RegExp][])
    assert.throws(() => resolveConfig({ ...base, [field]: value }), re, field);
  assert.throws(
    () => resolveConfig({ ...base, augment: "plain", blockFlip: true }),
    /blockFlip needs augment 'cipher-safe'/,
  );
});
