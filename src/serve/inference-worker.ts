/**
 * The inference worker thread: it owns the models (libtorch calls block, so they never run on the server's event
 * loop). Messages in: `{type: "run", id, model, x, n}` with x the batch's raw ciphertexts N×C×H×W (transferred);
 * out: `{id, ok, logits, computeUs}`. The forward path is `ercnn evaluate`'s: the loader's normalisation, then
 * `model.forward` in eval mode without autograd, every tensor freed by `tidy` (nothing waits for V8 finalizers).
 * With a CUDA device the models live on it and each batch is copied there from pinned memory (torch/device.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { normalizeInPlace } from "../data/normalize.ts";
import { type ERModel, loadCheckpoint } from "../models/index.ts";
import { moduleTo, toDevice } from "../torch/device.ts";
import { fromTypedArray, noGrad, setNumThreads, tidy } from "../torch/index.ts";
import type { WorkerInit, WorkerModel, WorkerReply, WorkerRequest } from "./worker-messages.ts";

const init = workerData as WorkerInit;
const device = init.device ?? "cpu";
if (init.threads) setNumThreads(init.threads);

const loaded = new Map<string, { spec: WorkerModel; model: ERModel }>();

function run(m: { spec: WorkerModel; model: ERModel }, x: Float32Array, n: number): Float32Array {
  const [c, h, w] = m.spec.shape;
  if (m.spec.normalization) normalizeInPlace(x, n, c, h * w, m.spec.normalization);
  return tidy(() => noGrad(() => m.model.forward(toDevice(fromTypedArray(x, [n, c, h, w]), device)).toFloat32Array()));
}

/** One zero image through the model at start-up: an input size the network cannot take fails here, not per request. */
function checkRuns(spec: WorkerModel, model: ERModel): void {
  const [c, h, w] = spec.shape;
  try {
    run({ spec, model }, new Float32Array(c * h * w), 1);
  } catch (e) {
    throw new Error(`model '${spec.name}' cannot run on ${c}×${h}×${w} inputs: ${(e as Error).message}`);
  }
}

async function start(): Promise<void> {
  for (const spec of init.models) {
    const { model } = await loadCheckpoint(spec.checkpoint);
    model.eval();
    moduleTo(model, device);
    loaded.set(spec.name, { spec, model });
    checkRuns(spec, model);
  }
  parentPort!.postMessage({ type: "ready" } satisfies WorkerReply);
  parentPort!.on("message", (msg: WorkerRequest) => {
    const t0 = performance.now();
    try {
      const m = loaded.get(msg.model);
      if (!m) throw new Error(`worker has no model '${msg.model}'`);
      const logits = run(m, msg.x, msg.n);
      const computeUs = Math.round((performance.now() - t0) * 1000);
      parentPort!.postMessage({ type: "result", id: msg.id, ok: true, logits, computeUs } satisfies WorkerReply, [
        logits.buffer as ArrayBuffer,
      ]);
    } catch (e) {
      parentPort!.postMessage({
        type: "result",
        id: msg.id,
        ok: false,
        error: (e as Error).message,
      } satisfies WorkerReply);
    }
  });
}

start().catch((e) => parentPort!.postMessage({ type: "failed", error: (e as Error).message } satisfies WorkerReply));
