/**
 * Command-line value parsers, one per kind of number. Strict: "abc", "", "2.5" for an integer and "1e3" for an
 * integer are refused, never turned into NaN or silently truncated. Each throws commander's InvalidArgumentError,
 * which commander reports naming the option: `option '-b, --batch-size <n>' argument '0' is invalid. expected a
 * positive integer (1, 2, 3, …)`.
 */
import { InvalidArgumentError } from "commander";

const INTEGER = /^[+-]?\d+$/;

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

/** 0, 1, 2, … */
export const nonNegativeInteger = (v: string): number =>
  toInteger(v, "a non-negative integer (0, 1, 2, …)", (n) => n >= 0);

/** A finite number ("0.002", "1e-3", "-2"); "", "abc", "Infinity" are refused. */
export const number = (v: string): number => {
  const s = v.trim();
  const n = s === "" ? Number.NaN : Number(s);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("expected a number");
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
