/**
 * The serving state behind the routes: the models (metadata only on this thread), the inference worker that owns
 * their weights, the dynamic batcher in front of it, and the metrics. `infer` is the whole path of one request:
 * key check, queue, forward, response; `close` drains what is queued, then stops the worker.
 */
import type { Device } from "../torch/device.ts";
import { Batcher, type BatcherOptions } from "./batcher.ts";
import { ServeError } from "./errors.ts";
import { checkKeyFingerprint, type InferRequest } from "./infer-request.ts";
import { inferResponse, type ResponseBody } from "./infer-response.ts";
import type { FailureReason, ServeMetrics } from "./metrics.ts";
import { classNames, type ModelInfo } from "./model-info.ts";
import { InferenceWorker } from "./worker-client.ts";

export interface ServiceOptions extends BatcherOptions {
  /** libtorch threads of the inference worker. */
  threads?: number;
  /** Where the models live and the batches run (default cpu). */
  device?: Device;
}

export class Service {
  readonly models = new Map<string, ModelInfo>();
  readonly worker: InferenceWorker;
  readonly batcher: Batcher;
  ready = false;
  closing = false;
  loadError: Error | null = null;

  constructor(
    models: ModelInfo[],
    readonly o: ServiceOptions,
    readonly metrics: ServeMetrics,
  ) {
    for (const m of models) {
      if (this.models.has(m.name)) throw new Error(`two models are named '${m.name}'; give each a --name`);
      this.models.set(m.name, m);
    }
    this.worker = new InferenceWorker(
      models.map((m) => ({ name: m.name, checkpoint: m.checkpoint, shape: m.shape, normalization: m.normalization })),
      o.threads,
      o.device,
    );
    this.worker.ready.then(
      () => {
        this.ready = true;
      },
      (e: Error) => {
        this.loadError = e;
      },
    );
    this.batcher = new Batcher(
      (model, x, n) => this.worker.run(model, x, n),
      o,
      (s) => {
        metrics.execCount.inc({ model: s.model });
        metrics.count.inc({ model: s.model }, s.images);
        metrics.batchSize.observe({ model: s.model }, s.images);
        metrics.computeUs.inc({ model: s.model }, s.computeUs);
      },
    );
  }

  model(name: string): ModelInfo {
    const m = this.models.get(name);
    if (!m) throw new ServeError(404, `unknown model '${name}' (served: ${[...this.models.keys()].join(", ")})`);
    return m;
  }

  async infer(model: ModelInfo, req: InferRequest): Promise<ResponseBody> {
    checkKeyFingerprint(req, model);
    if (!this.ready)
      throw new ServeError(503, `model '${model.name}' is not ready (${this.loadError?.message ?? "loading"})`, {
        "Retry-After": "1",
      });
    const labels = { model: model.name };
    this.metrics.pending.set(labels, this.batcher.pending + 1);
    const r = await this.batcher.submit(model.name, req.x, req.n).finally(() => {
      this.metrics.pending.set(labels, this.batcher.pending);
    });
    this.metrics.queueUs.inc(labels, r.queueUs);
    return inferResponse({
      modelName: model.name,
      ...(req.id !== undefined ? { id: req.id } : {}),
      outputs: req.outputs,
      logits: r.logits,
      n: req.n,
      labels: classNames(model),
    });
  }

  /** Counts a finished infer request (success or the failure reason by HTTP status). */
  record(model: string, status: number, seconds: number): void {
    const labels = { model };
    if (status < 400) {
      this.metrics.success.inc(labels);
      this.metrics.requestUs.inc(labels, Math.round(seconds * 1e6));
      this.metrics.latency.observe(labels, seconds);
      return;
    }
    const reason: FailureReason = status === 503 || status === 504 ? "REJECTED" : status >= 500 ? "BACKEND" : "OTHER";
    this.metrics.failure.inc({ model, reason });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.batcher.drained();
    await this.worker.close();
  }
}
