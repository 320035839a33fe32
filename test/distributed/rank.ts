// One rank of a multi-process test; the scenario is argv[2]. Prints one JSON line with what it observed.
import { tensor } from "../../src/torch/index.ts";
import { initFromEnv } from "../../src/torch/distributed.ts";

const scenario = process.argv[2];
const timeoutMs = Number(process.env.ERCNN_TEST_DIST_TIMEOUT_MS ?? 60_000);

if (scenario === "interop") {
  // Must mirror test/distributed/interop_rank.py step by step.
  const pg = initFromEnv({ timeoutMs });
  const r = pg.rank;
  const x = tensor([r + 1, 10 * (r + 1), 0.5 * (r + 1)], { dtype: "float32" });
  pg.allReduce(x, "sum");
  const m = tensor([r * 7], { dtype: "float64" });
  pg.allReduce(m, "max");
  const b = tensor([r === 0 ? 3.25 : -1, r === 0 ? 42 : -1], { dtype: "float32" });
  pg.broadcast(b, 0);
  pg.barrier();
  console.log(JSON.stringify({ rank: r, sum: x.toArray(), max: m.toArray(), bcast: b.toArray() }));
  pg.destroy();
}
