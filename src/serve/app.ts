/**
 * The HTTP server: fastify with the OIP routes, OpenAPI (@fastify/swagger), CORS for named origins (@fastify/cors),
 * the browser client page from dist/web/ (@fastify/static), `{"error": ...}` for every failure, and one structured
 * log line per request (id, model, batch, status, ms; never tensor data, never a key). `close()` is the graceful
 * shutdown: stop accepting, answer what is queued, stop the worker.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import cors from "@fastify/cors";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from "fastify";
import { ConnectionTracker } from "./connections.ts";
import { ServeError } from "./errors.ts";
import { checkServeOptions, DEFAULT_LIMITS, type ServerLimits } from "./limits.ts";
import { lingerOnClose } from "./linger.ts";
import { ServeMetrics } from "./metrics.ts";
import type { ModelInfo } from "./model-info.ts";
import { recordInfer, registerRoutes, SERVER_VERSION } from "./routes.ts";
import { Service, type ServiceOptions } from "./service.ts";

/** The client page's build output (issue 11; `npm run build:web`). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL("../../dist/web/", import.meta.url));

export interface AppOptions extends ServiceOptions, Partial<ServerLimits> {
  /** Largest request body (binary tensor data, .npy), bytes; JSON bodies are capped by `jsonLimit`. */
  bodyLimit: number;
  /** Serve the client page at `/` from this folder; null: no page. */
  uiDir: string | null;
  /** Origins allowed by CORS (none: CORS off). */
  cors: string[];
  /** pino level, or false for no logs. */
  logLevel: string | false;
}

export interface ServeApp {
  app: FastifyInstance;
  service: Service;
  close(): Promise<void>;
}

/** Binary bodies (tensor data, .npy) up to `bodyLimit`; everything else is JSON or refused, up to `jsonLimit`. */
const BINARY_TYPES = ["application/octet-stream", "application/x-npy"];

export async function createApp(models: ModelInfo[], o: AppOptions): Promise<ServeApp> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...definedOnly(o) };
  checkServeOptions(models, { ...o, ...limits });
  const app = Fastify({
    logger: o.logLevel === false ? false : { level: o.logLevel },
    // fastify's own per-request lines are replaced by the one line of the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    // Node checks the request and headers timeouts every connectionsCheckingInterval (default 30 s).
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    forceCloseConnections: "idle",
    return503OnClosing: true,
  });
  app.server.maxConnections = limits.maxConnections;
  const connections = new ConnectionTracker(app);
  const service = new Service(models, o, new ServeMetrics());

  // Bodies reach the routes as bytes: binary tensor data is not JSON, and JSON errors get the OIP error object.
  // A body over its limit is refused (413) from Content-Length before it is read, or as soon as it passes the limit.
  app.removeAllContentTypeParsers();
  const asBytes = (_req: unknown, body: Buffer, done: (e: null, b: Buffer) => void) => done(null, body);
  app.addContentTypeParser(BINARY_TYPES, { parseAs: "buffer", bodyLimit: o.bodyLimit }, asBytes);
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: limits.jsonLimit }, asBytes);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    // Refused before its body was read (over the limit): answer, then drain while the client still sends.
    if (!req.raw.complete) lingerOnClose(req.raw.socket);
    if (err instanceof ServeError) return reply.code(err.status).headers(err.headers).send({ error: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, "internal error");
    return reply.code(status).send({ error: status === 500 ? `internal error: ${err.message}` : err.message });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}` }),
  );

  // While shutting down, answers close their connection, so keep-alive clients do not hold the server open.
  app.addHook("onSend", async (_req, reply, payload) => {
    if (service.closing) reply.header("connection", "close");
    return payload;
  });
  app.addHook("onResponse", async (req, reply) => logRequest(service, req, reply));

  if (o.cors.length > 0)
    await app.register(cors, { origin: o.cors, exposedHeaders: ["Inference-Header-Content-Length", "Retry-After"] });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "ercnn serve: Open Inference Protocol (KServe v2)",
        description: "Encrypted-image classification; see docs/serve.md",
        version: SERVER_VERSION,
      },
    },
  });
  registerRoutes(app, service, { jsonLimit: limits.jsonLimit });
  if (o.uiDir !== null) {
    if (existsSync(o.uiDir)) await app.register(fastifyStatic, { root: o.uiDir, prefix: "/" });
    else
      app.get("/", { schema: { hide: true } }, async (_req, reply) =>
        reply.code(404).send({
          error: `no client page: ${o.uiDir} does not exist; build it with \`npm run build:web\` (or start with --no-ui)`,
        }),
      );
  }

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      service.closing = true;
      // fastify stops accepting, waits for in-flight requests (they wait for their batches), then we stop the worker.
      await app.close();
      await service.close();
    })();
    return closing;
  };
  // Shutdown: connections not being answered (idle, or a request still arriving) are cut before fastify waits for
  // the rest, so a half-sent request cannot hold the process open.
  app.addHook("preClose", async () => {
    const cut = connections.cutUnhandled();
    if (cut > 0) app.log.info({ connections: cut }, "closed connections with no request being answered");
  });
  return { app, service, close };
}

function definedOnly(o: Partial<ServerLimits>): Partial<ServerLimits> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => k in DEFAULT_LIMITS && v !== undefined));
}

/** One access-log line per request (and the infer metrics): never tensor data, never a key. */
function logRequest(service: Service, req: FastifyRequest, reply: FastifyReply): void {
  recordInfer(service, req, reply);
  req.log.info(
    {
      ...(req.infer?.id !== undefined ? { id: req.infer.id } : {}),
      method: req.method,
      url: req.url.split("?")[0],
      model: req.infer?.model,
      batch: req.infer?.batch,
      status: reply.statusCode,
      ms: Number(reply.elapsedTime.toFixed(2)),
    },
    "request",
  );
}
