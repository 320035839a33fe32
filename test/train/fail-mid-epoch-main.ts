// `ercnn` (bin/ercnn.js's top-level await on main()) with a failure injected into the Nth backward of training, i.e.
// mid-epoch while the loader's workers still have batches in flight. argv: N, then the ercnn arguments.
import { main } from "../../src/cli/main.ts";
import { Tensor } from "../../src/torch/tensor.ts";

const failAt = Number(process.argv[2]);
const backward = Tensor.prototype.backward;
let calls = 0;
Tensor.prototype.backward = function (this: Tensor, ...args: Parameters<Tensor["backward"]>) {
  if (++calls === failAt) throw new Error(`injected failure in backward call ${failAt}`);
  return backward.apply(this, args);
};
await main([process.argv[0], "ercnn", ...process.argv.slice(3)]);
