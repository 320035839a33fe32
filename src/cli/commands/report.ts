import { Command } from "commander";
import { writeReport } from "../../report/index.ts";

export function reportCommand(): Command {
  return new Command("report")
    .description("write one self-contained HTML page for a run directory, or a comparison of several")
    .argument("<runs...>", "run directories (ercnn train --out)")
    .requiredOption("-o, --out <file>", "HTML file to write")
    .option("--title <text>", "page title")
    .action(async (runs: string[], o) => {
      const path = await writeReport({ runDirs: runs, out: o.out, title: o.title });
      process.stdout.write(`report: ${path}\n`);
    });
}
