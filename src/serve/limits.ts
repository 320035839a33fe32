/**
 * The server's limits as data: how long a client may take to send a request, how long an idle keep-alive connection
 * is kept, how many connections and requests per connection, and how large a JSON body may be (binary bodies carry
 * images; JSON is parsed on the event loop, so it is capped well below them). Each limit is an `ercnn serve` flag;
 * `checkServeOptions` refuses, before anything listens, values that would serve wrongly or not at all, naming the
 * flag and the reason.
 */
import type { ModelInfo } from "./model-info.ts";

export interface ServerLimits {
  /** Whole request (headers and body) must arrive within this, ms; else 408 and the connection closes. */
  requestTimeoutMs: number;
  /** Headers must arrive within this, ms (Node's headersTimeout; ≤ requestTimeoutMs). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, ms. */
  keepAliveTimeoutMs: number;
  /** Requests one keep-alive connection may carry before the server closes it (0: unlimited). */
  maxRequestsPerSocket: number;
  /** Open connections at once; more are closed on arrival. */
  maxConnections: number;
  /** Largest JSON body (and JSON header of a binary request), bytes. */
  jsonLimit: number;
}

/**
 * Defaults, each with its reason:
 * - request 30 s: a 64 MiB binary body needs ≥ 17 Mbit/s; a client slower than that uses smaller batches;
 * - headers 10 s: headers are a few hundred bytes;
 * - keep-alive 5 s: Node's own default; clients that batch reconnect cheaply;
 * - 1000 requests per connection: nginx's keepalive_requests, so no connection is held for ever;
 * - 1024 connections: far above the 256 concurrent clients the load benchmark drives, far below the fd limit;
 * - JSON 1 MiB: parsing and checking JSON runs on the event loop at about 23 ms per MiB of float32 values (measured,
 *   docs/serve.md), so the largest JSON body stalls health checks ~25 ms; 1 MiB holds about 16 CIFAR-size images as
 *   JSON numbers, and larger batches travel as binary tensor data (64× smaller limit than binary's 64 MiB).
 */
export const DEFAULT_LIMITS: ServerLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 1024,
  jsonLimit: 1024 * 1024,
};

/** Node's timers hold at most 2^31 - 1 ms (about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Largest image side the server accepts (a 3×4096×4096 FP32 image is 192 MiB). */
export const MAX_SIDE = 4096;

export interface CheckedOptions extends ServerLimits {
  maxBatch: number;
  maxQueueDelayUs: number;
  timeoutMs: number;
  bodyLimit: number;
}

const MiB = 1024 * 1024;
const mib = (b: number) => `${(b / MiB).toFixed(b < MiB ? 3 : 1)} MiB`;

/** Throws naming the flag and the reason for any option or model shape the server cannot serve correctly. */
export function checkServeOptions(models: ModelInfo[], o: CheckedOptions): void {
  const timers: [string, number][] = [
    ["--timeout", o.timeoutMs],
    ["--request-timeout", o.requestTimeoutMs],
    ["--headers-timeout", o.headersTimeoutMs],
    ["--keep-alive-timeout", o.keepAliveTimeoutMs],
    ["--max-queue-delay (µs)", o.maxQueueDelayUs / 1000],
  ];
  for (const [flag, ms] of timers)
    if (!(ms >= 0 && ms <= MAX_TIMER_MS))
      throw new Error(`${flag} ${ms} ms: must be between 0 and ${MAX_TIMER_MS} ms (about 24.8 days)`);
  if (o.requestTimeoutMs < 1) throw new Error("--request-timeout must be at least 1 ms");
  if (o.headersTimeoutMs < 1) throw new Error("--headers-timeout must be at least 1 ms");
  if (o.headersTimeoutMs > o.requestTimeoutMs)
    throw new Error(
      `--headers-timeout ${o.headersTimeoutMs} ms is longer than --request-timeout ${o.requestTimeoutMs} ms (headers are part of the request)`,
    );
  if (o.jsonLimit > o.bodyLimit)
    throw new Error(`--json-limit ${mib(o.jsonLimit)} is larger than --body-limit ${mib(o.bodyLimit)}`);
  if (!(o.maxConnections >= 1)) throw new Error("--max-connections must be at least 1");
  for (const m of models) checkModelShape(m, o);
}

function checkModelShape(m: ModelInfo, o: CheckedOptions): void {
  const [c, h, w] = m.shape;
  const k = m.blockSize;
  const flag = `model '${m.name}' input ${c}×${h}×${w}`;
  for (const [side, v] of [
    ["height", h],
    ["width", w],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${flag}: ${side} ${v} must be at least 1 (--input-size)`);
    if (v > MAX_SIDE) throw new Error(`${flag}: ${side} ${v} is larger than ${MAX_SIDE} (--input-size)`);
    if (k > 0 && v % k !== 0)
      throw new Error(
        `${flag}: ${side} ${v} is not a multiple of the key's block size ${k} (the cipher encrypts whole ${k}×${k} blocks; --input-size)`,
      );
  }
  const image = c * h * w * 4;
  if (image > o.bodyLimit)
    throw new Error(`${flag}: one FP32 image is ${mib(image)}, more than --body-limit ${mib(o.bodyLimit)}`);
}
