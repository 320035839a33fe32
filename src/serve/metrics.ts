/**
 * Prometheus metrics (prom-client), named exactly as Triton names its own (docs/user_guide/metrics.md), labelled by
 * `model` (ercnn models have no versions, so Triton's `version` label is left out):
 *   nv_inference_request_success / nv_inference_request_failure{reason}: requests answered / failed (Triton's
 *     reasons: REJECTED = queue full or timed out, BACKEND = the forward pass failed, OTHER = a bad request);
 *   nv_inference_count / nv_inference_exec_count: images inferred / forward passes (their ratio is the mean batch);
 *   nv_inference_request_duration_us, nv_inference_queue_duration_us, nv_inference_compute_infer_duration_us:
 *     cumulative microseconds (Triton's counters);
 *   nv_inference_pending_request_count: requests waiting in the queue.
 * Two histograms Triton does not have carry the `ercnn_` prefix: ercnn_request_duration_seconds (latency of each
 * infer request, end to end in the server) and ercnn_batch_size (images per forward pass). Process metrics
 * (RSS, heap, event-loop lag) come from prom-client's defaults.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type FailureReason = "REJECTED" | "BACKEND" | "OTHER";

export class ServeMetrics {
  readonly registry = new Registry();
  private readonly c = (name: string, help: string, labelNames: string[] = ["model"]) =>
    new Counter({ name, help, labelNames, registers: [this.registry] });
  readonly success = this.c("nv_inference_request_success", "Number of successful inference requests");
  readonly failure = this.c("nv_inference_request_failure", "Number of failed inference requests", ["model", "reason"]);
  readonly count = this.c("nv_inference_count", "Number of inferences performed (images)");
  readonly execCount = this.c("nv_inference_exec_count", "Number of model executions (forward passes)");
  readonly requestUs = this.c("nv_inference_request_duration_us", "Cumulative inference request duration (µs)");
  readonly queueUs = this.c("nv_inference_queue_duration_us", "Cumulative inference queuing duration (µs)");
  readonly computeUs = this.c("nv_inference_compute_infer_duration_us", "Cumulative compute inference duration (µs)");
  readonly pending = new Gauge({
    name: "nv_inference_pending_request_count",
    help: "Instantaneous number of pending requests awaiting execution",
    labelNames: ["model"],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "ercnn_request_duration_seconds",
    help: "Infer request latency in the server, from arrival to response (seconds)",
    labelNames: ["model"],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: "ercnn_batch_size",
    help: "Images per forward pass",
    labelNames: ["model"],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
