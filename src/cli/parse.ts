/**
 * Command-line value parsers, one per kind of number. One grammar for every option: decimal digits, for real numbers
 * with a fraction and an exponent ("0.002", ".5", "1e-3"); JavaScript's other spellings ("0x10", "0b1", "0o7",
 * "Infinity", "1_000") are refused, as are "abc", "", "2.5" and "1e3" for an integer: never turned into NaN, another
 * base or silently truncated. Each throws commander's InvalidArgumentError,
 * which commander reports naming the option: `option '-b, --batch-size <n>' argument '0' is invalid. expected a
 * positive integer (1, 2, 3, …)`.
 */
import { InvalidArgumentError } from "commander";

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function toInteger(v: string, what: string, ok: (n: number) => boolean): number {
  const s = v.trim();
  const n = INTEGER.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || !ok(n)) throw new InvalidArgumentError(`expected ${what}`);
  return n;
}

/** Any integer (…, -1, 0, 1, …). */
export const integer = (v: string): number => toInteger(v, "an integer", () => true);

/** 1, 2, 3, … */
export const positiveInteger = (v: string): number => toInteger(v, "a positive integer (1, 2, 3, …)", (n) => n >= 1);

/** A JPEG quality on libjpeg's scale: 1, 2, …, 100. */
export const jpegQuality = (v: string): number =>
  toInteger(v, "a JPEG quality from 1 to 100 (libjpeg's scale)", (n) => n >= 1 && n <= 100);

/** 0, 1, 2, … */
export const nonNegativeInteger = (v: string): number =>
  toInteger(v, "a non-negative integer (0, 1, 2, …)", (n) => n >= 0);

/** A finite decimal number ("0.002", "1e-3", "-2"); "", "abc", "0x10", "Infinity", "1e999" are refused. */
export const number = (v: string): number => {
  const s = v.trim();
  const n = DECIMAL.test(s) ? Number(s) : Number.NaN;
  if (!Number.isFinite(n)) throw new InvalidArgumentError("expected a decimal number (like 0.002 or 1e-3)");
  return n;
};

/**
 * A device name as PyTorch spells it: cpu, cuda or cuda:N (case-insensitive), returned lower-case. Syntax only: whether
 * CUDA is there is checked by the command (torch/device.ts's parseDevice), with the same message as `ercnn train`'s.
 */
export const deviceName = (v: string): string => {
  const s = v.trim().toLowerCase();
  if (!/^(cpu|cuda(:\d+)?)$/.test(s)) throw new InvalidArgumentError("expected cpu, cuda or cuda:N");
  return s;
};

/** A finite number ≥ 0. */
export const nonNegativeNumber = (v: string): number => {
  const n = number(v);
  if (n < 0) throw new InvalidArgumentError("expected a non-negative number");
  return n;
};
