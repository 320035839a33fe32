// Runs launchRanks (the --nproc launcher) over test/distributed/rank.ts "launched" <mode>, for the launcher tests.
import { join } from "node:path";
import { launchRanks } from "../../src/train/distributed-launch.ts";
import { root } from "./helpers.ts";

const [nproc, mode, grace] = process.argv.slice(2);
const res = await launchRanks({
  nproc: Number(nproc),
  command: process.execPath,
  args: ["--import", "tsx", join(root, "test/distributed/rank.ts"), "launched", mode],
  env: { GLOO_SOCKET_IFNAME: "lo" },
  threadsPerRank: 1,
  graceMs: Number(grace ?? 30_000),
});
console.log(JSON.stringify(res));
process.exit(res.code);
