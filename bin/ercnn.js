#!/usr/bin/env node
// Launcher: registers tsx (TypeScript on the fly) and runs the CLI in src/cli/main.ts.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
await main(process.argv);
