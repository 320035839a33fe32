import { readFileSync } from "node:fs";
import { Command } from "commander";
import { checkSweepSpec, runSweep } from "../../train/index.ts";
import { nonNegativeInteger } from "../parse.ts";
import { trainProgress } from "./train.ts";

export function sweepCommand(): Command {
  return new Command("sweep")
    .description("run a resumable grid of training runs; writes results.csv/.md, plots (SVG, PNG) and report.html")
    .argument(
      "<spec>",
      'JSON file: {"base": {train settings, "train": store, ...}, "grid": {"lr": [...], "adapt": [...], ...}}',
    )
    .requiredOption("-o, --out <dir>", "sweep directory (one run directory per cell under cells/)")
    .option("--max-cells <n>", "run at most n cells now (0: only summarise; a later call resumes)", nonNegativeInteger)
    .option("-q, --quiet", "no progress bars")
    .action(async (specPath: string, o) => {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(specPath, "utf8"));
      } catch (e) {
        throw new Error(`${specPath}: cannot read the sweep spec: ${(e as Error).message}`);
      }
      const spec = checkSweepSpec(raw, specPath);
      const r = await runSweep(spec, o.out, { maxCells: o.maxCells, quiet: !!o.quiet, progress: trainProgress });
      process.stdout.write(
        `${r.ran.length} cells run, ${r.skipped.length} already done; results in ${o.out}/results.md\n`,
      );
    });
}
