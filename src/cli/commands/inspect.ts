import { existsSync, statSync } from "node:fs";
import { Command } from "commander";
import { shortFingerprint } from "../../cipher/index.ts";
import { DataError } from "../../data/errors.ts";
import { loadKey } from "../../data/keyfile.ts";
import { isStore, Store } from "../../data/store.ts";
import { isStudyLayout, readStudyLayout } from "../../data/study-layout.ts";

/** A printable description of a store, key file or study layout. Never includes key values. */
export async function describe(path: string, opts: { classCounts?: boolean } = {}): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw new DataError(`${path} does not exist`, "NOT_FOUND");
  if (statSync(path).isDirectory()) {
    if (isStore(path)) {
      const st = Store.open(path);
      const m = st.meta;
      const perClass = new Array(m.classes.length).fill(0);
      if (opts.classCounts !== false) {
        for (let s = 0; s < m.shards.length; s++) for (const l of st.readLabels(s)) perClass[l]++;
      }
      return {
        kind: m.key ? "encrypted store" : "plain store",
        path,
        format: `${m.format} v${m.version}`,
        key: m.key
          ? {
              fingerprint: m.key.fingerprint,
              mode: m.key.mode,
              blockSize: m.key.blockSize,
              scrambled: !!m.key.scrambled,
            }
          : null,
        images: m.count,
        planned: m.plan.total,
        complete: m.complete,
        shape: [m.count, ...m.shape],
        shards: m.shards.length,
        shardSize: m.plan.shardSize,
        classes: m.classes.map((c, i) => ({
          id: c,
          ...(m.classNames ? { name: m.classNames[i] } : {}),
          count: perClass[i],
        })),
        skipped: m.shards.reduce((a, s) => a + s.skipped.length, 0),
        stats: m.stats,
        source: m.source,
        createdAt: m.createdAt,
        updatedAt: m.updatedAt,
      };
    }
    if (isStudyLayout(path)) {
      const out: Record<string, unknown> = { kind: "study layout", path };
      for (const split of ["train", "test"] as const) {
        try {
          const s = readStudyLayout(path, split);
          out[split] = { images: s.items.length, classes: s.classes.length };
        } catch {}
      }
      return out;
    }
    throw new DataError(`${path} is neither a store nor a study layout`, "BAD_INPUT");
  }
  const key = await loadKey(path);
  return {
    kind: "key",
    path,
    mode: key.mode,
    blockSize: key.blockSize,
    channels: key.channels,
    matrix: `${key.channels} × ${key.blockSize ** 2}×${key.blockSize ** 2}`,
    // whether block positions are scrambled (the seed itself is secret and never shown)
    scrambling: key.scramble ? key.scramble.scheme : "none",
    fingerprint: key.fingerprint,
    short: shortFingerprint(key),
    createdAt: key.createdAt,
  };
}

function printHuman(d: Record<string, any>): void {
  const lines: string[] = [];
  if (d.kind === "key") {
    lines.push(
      `key ${d.path}`,
      `  mode         ${d.mode}`,
      `  block size   ${d.blockSize}`,
      `  matrices     ${d.matrix}`,
      `  scrambling   ${d.scrambling === "none" ? "none" : `block positions (${d.scrambling}; seed secret)`}`,
    );
    lines.push(`  fingerprint  ${d.fingerprint}`, `  created      ${d.createdAt}`);
  } else if (d.kind === "study layout") {
    lines.push(`study layout ${d.path}`);
    for (const s of ["train", "test"]) if (d[s]) lines.push(`  ${s}: ${d[s].images} images, ${d[s].classes} classes`);
  } else {
    lines.push(`${d.kind} ${d.path} (${d.format})`);
    lines.push(
      d.key
        ? `  key          ${d.key.fingerprint} (${d.key.mode}, k=${d.key.blockSize}${d.key.scrambled ? ", block scrambling" : ""})`
        : "  key          none (plain)",
    );
    lines.push(`  shape        ${d.shape.join("×")} float32, labels int64`);
    lines.push(
      `  images       ${d.images} of ${d.planned} planned${d.complete ? "" : " (INCOMPLETE: re-run ercnn encrypt to resume)"}`,
    );
    lines.push(`  shards       ${d.shards} × ≤${d.shardSize}`);
    if (d.skipped) lines.push(`  skipped      ${d.skipped} bad images`);
    lines.push(`  source       ${d.source.description}`);
    // A store written before non-finite values were refused at import can hold NaN (null in JSON) statistics.
    const f = (v: number | null) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(4) : "not finite");
    if (d.stats) lines.push(`  mean / std   [${d.stats.mean.map(f)}] / [${d.stats.std.map(f)}]`);
    lines.push(`  classes      ${d.classes.length}`);
    for (const [i, c] of d.classes.entries())
      lines.push(`    ${String(i).padStart(3)} ${c.id}${c.name ? ` (${c.name})` : ""}: ${c.count}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

export function inspectCommand(): Command {
  return new Command("inspect")
    .description(
      "describe a store (shapes, counts, classes, fingerprint) or a key file (mode, size, fingerprint; never the values)",
    )
    .argument("<path>", "store directory, key file, or study layout directory")
    .option("--json", "print JSON")
    .action(async (path: string, o: { json?: boolean }) => {
      const d = await describe(path);
      if (o.json) process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
      else printHuman(d);
    });
}
