/** The messages between the server and its inference worker (inference-worker.ts). */
import type { Normalization } from "../data/normalize.ts";
import type { Device } from "../torch/device.ts";

export interface WorkerModel {
  name: string;
  checkpoint: string;
  shape: [number, number, number];
  normalization: Normalization | null;
}

/** The worker's workerData. */
export interface WorkerInit {
  models: WorkerModel[];
  threads?: number;
  /** Where the models live and the batches run; host batches go through pinned memory when it is CUDA. */
  device: Device;
}

export interface WorkerRequest {
  id: number;
  model: string;
  /** Raw ciphertexts N×C×H×W (the worker normalises them in place). */
  x: Float32Array;
  n: number;
}

export type WorkerReply =
  | { type: "ready" }
  | { type: "failed"; error: string }
  | { type: "result"; id: number; ok: true; logits: Float32Array; computeUs: number }
  | { type: "result"; id: number; ok: false; error: string };
