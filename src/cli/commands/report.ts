import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { writeReport } from "../../report/index.ts";

/** The run directories that are not one: missing, not a folder, or without any of a run's files. */
function notRuns(runs: string[]): string[] {
  return runs.flatMap((dir) => {
    if (!existsSync(dir)) return [`${dir}: no such run directory`];
    if (!statSync(dir).isDirectory()) return [`${dir}: not a directory`];
    const files = ["config.json", "metrics.jsonl", "final.json"];
    if (!files.some((f) => existsSync(join(dir, f))))
      return [`${dir}: not a run directory (none of ${files.join(", ")}; ercnn train --out writes them)`];
    return [];
  });
}

export function reportCommand(): Command {
  return new Command("report")
    .description("write one self-contained HTML page for a run directory, or a comparison of several")
    .argument("<runs...>", "run directories (ercnn train --out)")
    .requiredOption("-o, --out <file>", "HTML file to write")
    .option("--title <text>", "page title")
    .action(async (runs: string[], o) => {
      // an unfinished run is reported with its problems listed; a path that is no run at all is a mistake
      const bad = notRuns(runs);
      if (bad.length) throw new Error(`report: ${bad.join("; ")}`);
      const path = await writeReport({ runDirs: runs, out: o.out, title: o.title });
      process.stdout.write(`report: ${path}\n`);
    });
}
