// The command-line number parsers (src/cli/parse.ts): strict, and every error names the option. Every command file
// uses them: a source scan refuses the hand-rolled parsers that turned "abc" into NaN and "2.5" into 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Command, InvalidArgumentError } from "commander";
import {
  integer,
  jpegQuality,
  nonNegativeInteger,
  nonNegativeNumber,
  number,
  positiveInteger,
} from "../../src/cli/parse.ts";

const refuses = (parse: (v: string) => number, v: string) =>
  assert.throws(() => parse(v), InvalidArgumentError, `'${v}' must be refused`);

describe("parsers", () => {
  test("integer: signed whole numbers only", () => {
    assert.equal(integer("42"), 42);
    assert.equal(integer("-7"), -7);
    assert.equal(integer(" 3 "), 3);
    for (const v of ["abc", "2.5", "", " ", "1e3", "0x10", "3abc", "NaN", "9007199254740993"]) refuses(integer, v);
  });
  test("positive and non-negative integers", () => {
    assert.equal(positiveInteger("1"), 1);
    for (const v of ["0", "-3", "2.5", "abc"]) refuses(positiveInteger, v);
    assert.equal(nonNegativeInteger("0"), 0);
    for (const v of ["-1", "-5", "0.5", "x"]) refuses(nonNegativeInteger, v);
  });
  test("JPEG quality: 1 to 100", () => {
    assert.equal(jpegQuality("75"), 75);
    assert.equal(jpegQuality("1") + jpegQuality("100"), 101);
    for (const v of ["0", "101", "75.5", "-75", "high"]) refuses(jpegQuality, v);
  });
  test("number: finite decimals and exponents", () => {
    assert.equal(number("0.002"), 0.002);
    assert.equal(number("1e-3"), 0.001);
    assert.equal(number("-2"), -2);
    assert.equal(number(".5"), 0.5);
    assert.equal(number("2."), 2);
    assert.equal(number("+1.5E2"), 150);
    // one grammar for every option: the hex, binary, octal and separator spellings integers refuse, numbers refuse too
    for (const v of ["abc", "", "  ", "Infinity", "NaN", "1,5", "0x10", "0b11", "0o7", "1_000", "1e999", "e5", "."])
      refuses(number, v);
    assert.equal(nonNegativeNumber("0"), 0);
    refuses(nonNegativeNumber, "-0.1");
  });
  test("commander's error names the option and the value", () => {
    const c = new Command("x")
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .option("-b, --batch-size <n>", "batch", positiveInteger);
    assert.throws(() => c.parse(["-b", "2.5"], { from: "user" }), /--batch-size <n>.*'2\.5'.*positive integer/);
    assert.throws(() => c.parse(["-b", "abc"], { from: "user" }), /--batch-size <n>.*'abc'.*positive integer/);
  });
});

test("every command file parses numbers with cli/parse.ts, never parseInt/parseFloat/Number()", () => {
  const dir = join(import.meta.dirname, "..", "..", "src", "cli", "commands");
  const offenders = readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) =>
      readFileSync(join(dir, f), "utf8")
        .split("\n")
        .map((line, i) => ({ where: `${f}:${i + 1}`, line }))
        .filter(({ line }) => /parseInt\(|parseFloat\(|\bNumber\(v\)|=> \+v\b|const (int|num) = /.test(line)),
    )
    .map(({ where, line }) => `${where}: ${line.trim()}`);
  assert.deepEqual(offenders, [], `hand-rolled number parsers:\n${offenders.join("\n")}`);
});

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(import.meta.dirname, "..", "..", "bin", "ercnn.js"), ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });

test("bad counts are refused before any work, naming the option", () => {
  const cases: [string[], RegExp][] = [
    [["train", "store", "-o", "out", "-b", "abc"], /--batch-size.*'abc'/],
    [["train", "store", "-o", "out", "--lr", "0x10"], /--lr.*'0x10'.*decimal number/],
    [["decrypt-view", "run", "--store", "s", "-o", "x.png", "-n", "0"], /--samples.*'0'/],
    [["decrypt", "store", "-o", "out", "--limit", "-5"], /--limit.*'-5'/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 1, `${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, re, args.join(" "));
  }
});
