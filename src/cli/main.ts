/**
 * The ercnn command line. Each command lives in its own file under commands/ and exports `command()`; add new ones
 * to COMMANDS below.
 */
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { attackCommand } from "./commands/attack.ts";
import { auditCommand } from "./commands/audit.ts";
import { classifyCommand } from "./commands/classify.ts";
import { decryptCommand } from "./commands/decrypt.ts";
import { decryptViewCommand } from "./commands/decrypt-view.ts";
import { demoCommand } from "./commands/demo.ts";
import { encryptCommand } from "./commands/encrypt.ts";
import { evaluateCommand } from "./commands/evaluate.ts";
import { inspectCommand } from "./commands/inspect.ts";
import { keygenCommand } from "./commands/keygen.ts";
import { pretrainCommand } from "./commands/pretrain.ts";
import { reportCommand } from "./commands/report.ts";
import { serveCommand } from "./commands/serve.ts";
import { sweepCommand } from "./commands/sweep.ts";
import { trainCommand } from "./commands/train.ts";

export const COMMANDS: (() => Command)[] = [
  keygenCommand,
  encryptCommand,
  decryptCommand,
  inspectCommand,
  trainCommand,
  pretrainCommand,
  evaluateCommand,
  decryptViewCommand,
  attackCommand,
  auditCommand,
  sweepCommand,
  reportCommand,
  demoCommand,
  serveCommand,
  classifyCommand,
];

export function buildProgram(): Command {
  const program = new Command("ercnn")
    .description("Encryption-Robust CNNs: privacy-preserving image classification over block-wise Hill ciphers")
    .version("0.1.0")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  for (const make of COMMANDS) program.addCommand(make());
  return program;
}

/** Prints an error the way every command does and sets a failing exit code. */
export function reportError(e: unknown): void {
  const err = e as Error & { code?: string };
  const msg = err?.message ?? String(e);
  process.stderr.write(`ercnn: ${msg}\n`);
  if (process.env.ERCNN_DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    reportError(e);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
