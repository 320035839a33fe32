// Takes the run lock of directory argv[2] (as `ercnn train` does), prints "held <pid>" or the error, then holds it
// until killed. Used to put a second process against a run directory.
import { acquireRunLock } from "../../src/train/run-lock.ts";

try {
  acquireRunLock(process.argv[2], (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`held ${process.pid}\n`);
  setInterval(() => {}, 60_000);
} catch (e) {
  process.stdout.write(`refused ${(e as Error).message}\n`);
  process.exit(3);
}
