import { availableParallelism } from "node:os";
import { Command } from "commander";
import { createApp, DEFAULT_UI_DIR } from "../../serve/app.ts";
import { DEFAULT_LIMITS, MAX_TIMER_MS } from "../../serve/limits.ts";
import { type ModelInfo, readModelInfo } from "../../serve/model-info.ts";
import { parseDevice } from "../../torch/device.ts";
import { deviceName, nonNegativeInteger, positiveInteger } from "../parse.ts";

const collect = (v: string, prev: string[]) => [...prev, v];
const size = (v: string): [number, number] => {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(v);
  if (!m) throw new Error(`--input-size: expected HxW or N, got '${v}'`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
};

export interface ServeCliOptions {
  name: string[];
  host: string;
  port: number;
  maxBatch: number;
  maxQueueDelay: number;
  maxQueue: number;
  timeout: number;
  threads?: number;
  device: string;
  bodyLimit: number;
  ui: boolean;
  uiDir: string;
  cors: string[];
  inputSize?: [number, number];
  logLevel: string;
  shutdownTimeout: number;
  requestTimeout: number;
  headersTimeout: number;
  keepAliveTimeout: number;
  maxRequestsPerSocket: number;
  maxConnections: number;
  jsonLimit: number;
}

export async function runServe(runDirs: string[], o: ServeCliOptions): Promise<void> {
  // A CUDA request on a CPU-only libtorch fails here, before any model is read (train's message).
  const device = parseDevice(o.device);
  if (o.shutdownTimeout * 1000 > MAX_TIMER_MS)
    throw new Error(`--shutdown-timeout ${o.shutdownTimeout} s: at most ${Math.floor(MAX_TIMER_MS / 1000)} s`);
  if (o.name.length > runDirs.length) throw new Error(`${o.name.length} --name for ${runDirs.length} run directories`);
  const models: ModelInfo[] = [];
  for (const [i, dir] of runDirs.entries())
    models.push(await readModelInfo(dir, { ...(o.name[i] ? { name: o.name[i] } : {}), inputSize: o.inputSize }));
  const { app, service, close } = await createApp(models, {
    maxBatch: o.maxBatch,
    maxQueueDelayUs: o.maxQueueDelay,
    maxQueue: o.maxQueue,
    timeoutMs: o.timeout,
    threads: o.threads ?? Math.max(1, availableParallelism() - 1),
    device,
    bodyLimit: o.bodyLimit * 1024 * 1024,
    jsonLimit: o.jsonLimit * 1024,
    requestTimeoutMs: o.requestTimeout,
    headersTimeoutMs: o.headersTimeout,
    keepAliveTimeoutMs: o.keepAliveTimeout,
    maxRequestsPerSocket: o.maxRequestsPerSocket,
    maxConnections: o.maxConnections,
    uiDir: o.ui ? o.uiDir : null,
    cors: o.cors,
    logLevel: o.logLevel === "silent" ? false : o.logLevel,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal, queued: service.batcher.pending }, "shutting down: no new requests, finishing queued ones");
    const timer = setTimeout(() => {
      app.log.error(`shutdown took longer than --shutdown-timeout ${o.shutdownTimeout} s; exiting`);
      process.exit(1);
    }, o.shutdownTimeout * 1000);
    close().then(
      () => {
        clearTimeout(timer);
        app.log.info("stopped");
        process.exitCode = 0;
      },
      (e: Error) => {
        app.log.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (e) {
    await close().catch(() => {}); // the worker thread would keep the process alive
    const err = e as NodeJS.ErrnoException;
    throw new Error(
      err.code === "EADDRINUSE" ? `${o.host}:${o.port} is already in use (give another --port)` : err.message,
    );
  }
  for (const m of models)
    app.log.info(
      {
        model: m.name,
        checkpoint: m.checkpoint,
        input: m.shape,
        blockSize: m.blockSize,
        keyMode: m.keyMode,
        device,
        key: m.keyFingerprint?.slice(0, 16) ?? null,
      },
      "serving model",
    );
  await service.worker.ready.catch(async (e: Error) => {
    app.log.error(e.message);
    await close().catch(() => {});
    throw e;
  });
  app.log.info({ models: models.map((m) => m.name) }, "ready");
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("serve trained models over HTTP with the Open Inference Protocol (KServe v2), for encrypted images")
    .argument("<run...>", "run directories (each serves its best/ checkpoint) or checkpoint directories")
    .option(
      "--name <name>",
      "model name for the run at the same position (repeatable; default: folder name)",
      collect,
      [],
    )
    .option("--host <host>", "address to bind (default loopback; 0.0.0.0 exposes the service)", "127.0.0.1")
    .option("-p, --port <n>", "TCP port (0: any free port)", nonNegativeInteger, 8000)
    .option("--max-batch <n>", "most images in one forward pass (and in one request)", positiveInteger, 64)
    .option(
      "--max-queue-delay <us>",
      "dynamic batching: how long a batch may wait for more requests, in MICROSECONDS (like Triton's max_queue_delay_microseconds)",
      nonNegativeInteger,
      2000,
    )
    .option(
      "--max-queue <n>",
      "most requests waiting; beyond it requests get 503 with Retry-After",
      positiveInteger,
      1024,
    )
    .option("--timeout <ms>", "a request still queued after this many milliseconds gets 504", positiveInteger, 30000)
    .option("--threads <n>", "libtorch threads of the inference worker (default: cores - 1)", positiveInteger)
    .option(
      "--device <name>",
      "cpu, cuda or cuda:N: where the inference worker keeps the models and runs the batches",
      deviceName,
      "cpu",
    )
    .option(
      "--body-limit <MiB>",
      "largest binary request body (tensor data, .npy) in MiB (413 beyond)",
      positiveInteger,
      64,
    )
    .option(
      "--json-limit <KiB>",
      "largest JSON body (or binary request's JSON header) in KiB: JSON is parsed on the event loop (413 beyond)",
      positiveInteger,
      DEFAULT_LIMITS.jsonLimit / 1024,
    )
    .option(
      "--request-timeout <ms>",
      "a request (headers and body) not fully received within this gets 408 and its connection is closed",
      positiveInteger,
      DEFAULT_LIMITS.requestTimeoutMs,
    )
    .option(
      "--headers-timeout <ms>",
      "headers not fully received within this: 408, connection closed (at most --request-timeout)",
      positiveInteger,
      DEFAULT_LIMITS.headersTimeoutMs,
    )
    .option(
      "--keep-alive-timeout <ms>",
      "an idle keep-alive connection is closed after this",
      positiveInteger,
      DEFAULT_LIMITS.keepAliveTimeoutMs,
    )
    .option(
      "--max-requests-per-socket <n>",
      "requests one keep-alive connection may carry before it is closed (0: unlimited)",
      nonNegativeInteger,
      DEFAULT_LIMITS.maxRequestsPerSocket,
    )
    .option(
      "--max-connections <n>",
      "open connections at once; more are closed on arrival",
      positiveInteger,
      DEFAULT_LIMITS.maxConnections,
    )
    .option("--no-ui", "do not serve the browser client page at /")
    .option("--ui-dir <dir>", "folder of the client page", DEFAULT_UI_DIR)
    .option(
      "--cors <origin>",
      "allow cross-origin requests from this origin (repeatable), e.g. the page on another host",
      collect,
      [],
    )
    .option("--input-size <HxW>", "input size when the run's training store is gone (normally read from it)", size)
    .option("--log-level <level>", "info, warn, error or silent (one JSON line per request at info)", "info")
    .option(
      "--shutdown-timeout <s>",
      "SIGTERM/SIGINT: longest wait for queued requests before exiting 1 (connections with no request being answered are closed at once)",
      positiveInteger,
      30,
    )
    .addHelpText(
      "after",
      "\nEndpoints: /v2 (server metadata), /v2/health/{live,ready}, /v2/models/NAME[/ready|/infer], /v2/repository/index,\n" +
        "/metrics (Prometheus), /openapi.json, / (client page). See docs/serve.md.\n\nExamples:\n" +
        "  ercnn serve runs/cifar10-k4\n  ercnn serve runs/a runs/b --name cifar --name tiny --port 8080 --max-queue-delay 500\n",
    )
    .action(async (runs: string[], o: ServeCliOptions) => runServe(runs, o));
}
