/** The messages between the server and its inference worker (inference-worker.ts). */
import type { Normalization } from "../data/normalize.ts";

export interface WorkerModel {
  name: string;
  checkpoint: string;
  shape: [number, number, number];
  normalization: Normalization | null;
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
