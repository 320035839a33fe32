/**
 * The ciphertext-only attack's search settings as data: one row per range of block sizes k, each with the reason
 * it holds. `ercnn attack`, `ercnn audit`, `--adapt-init attack` and the demo all take these (attackStore), and both
 * commands' help is rendered from this table (attackDefaultsHelp), so a default is written once.
 */

/** The search settings a block size gets unless a caller overrides them (StatisticalAttackOptions). */
export interface AttackDefaults {
  /** Random starts per channel; each costs one descent, O(k⁶) per evaluation. */
  restarts: number;
  /** Objective evaluations per start's descent (it stops early when the step size vanishes). */
  iterations: number;
  /** Rounds of fresh starts for a channel still failing or unconfirmed after the channel exchange. */
  retries: number;
  /** Pair the start's eigenvectors by their signatures over all relations and try neighbour swaps. */
  refine: boolean;
  /** Starts from joint diagonalisers of all the relations, every plaintext basis paired with its best partner. */
  joint: boolean;
  /** Match the energy-weighted (fourth-order) relations too: a second pass over both stores. */
  energy: boolean;
}

/** A row of ATTACK_DEFAULTS: the settings for block sizes from `fromBlockSize` up to the next row's. */
export interface AttackDefaultsRow extends AttackDefaults {
  fromBlockSize: number;
  /** Why these values, in one line. */
  reason: string;
}

export const ATTACK_DEFAULTS: readonly AttackDefaultsRow[] = [
  {
    fromBlockSize: 1,
    restarts: 12,
    iterations: 1500,
    retries: 2,
    refine: false,
    joint: false,
    energy: false,
    reason: "n ≤ 16 is cheap: many eigenvector starts, each descended to convergence, find the key's basin",
  },
  {
    fromBlockSize: 5,
    restarts: 8,
    iterations: 400,
    retries: 3,
    refine: true,
    joint: true,
    energy: false,
    reason: "close eigenvalues trade places under noise: signature-paired joint-diagonaliser starts find the basin",
  },
  {
    fromBlockSize: 8,
    restarts: 32,
    iterations: 400,
    retries: 3,
    refine: true,
    joint: true,
    energy: true,
    reason:
      "energy relations and cross-paired joint starts reach the key's basin (35 dB), but 8 starts stopped in a " +
      "wrong one (25 dB) on a fresh key and its channels still agreed: 32 reach it, about 14 min on 2 cores",
  },
  {
    fromBlockSize: 9,
    restarts: 4,
    iterations: 400,
    retries: 1,
    refine: true,
    joint: false,
    energy: true,
    reason: "joint starts were measured to help up to k = 8; at k = 16 their sweeps cost minutes per start",
  },
  {
    fromBlockSize: 16,
    restarts: 2,
    iterations: 200,
    retries: 0,
    refine: true,
    joint: false,
    energy: true,
    reason: "one evaluation costs about 0.1 s at n = 256: 2 starts of 200, the channel exchange instead of retries",
  },
];

/** The defaults row for block size k. */
export function attackDefaults(k: number): AttackDefaultsRow {
  if (!Number.isInteger(k) || k < 1) throw new Error(`attack defaults: bad block size ${k}`);
  return [...ATTACK_DEFAULTS].reverse().find((row) => row.fromBlockSize <= k) ?? ATTACK_DEFAULTS[0];
}

/** The block sizes a row covers, for help text: "k ≤ 4", "k = 5–7", "k = 8", "k ≥ 16". */
function range(i: number): string {
  const from = ATTACK_DEFAULTS[i].fromBlockSize;
  const next = ATTACK_DEFAULTS[i + 1]?.fromBlockSize;
  if (next === undefined) return `k ≥ ${from}`;
  if (i === 0) return `k ≤ ${next - 1}`;
  return next - 1 === from ? `k = ${from}` : `k = ${from}–${next - 1}`;
}

/** One setting's defaults across block sizes, for a flag's help: "12 for k ≤ 4, 8 for k = 5–8, …" (runs merged). */
export function attackDefaultsHelp(key: keyof AttackDefaults): string {
  const parts: { value: string; from: number; to: number }[] = [];
  for (const [i, row] of ATTACK_DEFAULTS.entries()) {
    const value = typeof row[key] === "boolean" ? (row[key] ? "on" : "off") : String(row[key]);
    const last = parts.at(-1);
    if (last && last.value === value) last.to = i;
    else parts.push({ value, from: i, to: i });
  }
  const label = (p: { from: number; to: number }) => {
    const lo = ATTACK_DEFAULTS[p.from].fromBlockSize;
    const hiNext = ATTACK_DEFAULTS[p.to + 1]?.fromBlockSize;
    if (p.from === p.to) return range(p.from);
    if (hiNext === undefined) return `k ≥ ${lo}`;
    if (p.from === 0) return `k ≤ ${hiNext - 1}`;
    return `k = ${lo}–${hiNext - 1}`;
  };
  return parts.map((p) => `${p.value} for ${label(p)}`).join(", ");
}

/** The table as help text, one line per row with its reason (the commands' help epilogue). */
export function attackDefaultsTable(): string {
  const lines = ATTACK_DEFAULTS.map(
    (row, i) =>
      `  ${range(i).padEnd(9)} ${row.restarts} starts × ${row.iterations} evaluations, ${row.retries} retry rounds` +
      `${row.joint ? ", joint starts" : ""}${row.energy ? ", energy relations" : ""}: ${row.reason}`,
  );
  return ["Attack defaults by block size k:", ...lines].join("\n");
}
