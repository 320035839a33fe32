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
import Fastify, { type FastifyInstance, LogController } from "fastify";
import { ServeError } from "./errors.ts";
import { ServeMetrics } from "./metrics.ts";
import type { ModelInfo } from "./model-info.ts";
import { recordInfer, registerRoutes, SERVER_VERSION } from "./routes.ts";
import { Service, type ServiceOptions } from "./service.ts";

/** The client page's build output (issue 11; `npm run build:web`). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL("../../dist/web/", import.meta.url));

export interface AppOptions extends ServiceOptions {
  /** Largest request body, bytes. */
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

export async function createApp(models: ModelInfo[], o: AppOptions): Promise<ServeApp> {
  const app = Fastify({
    logger: o.logLevel === false ? false : { level: o.logLevel },
    // fastify's own per-request lines are replaced by the one line of the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    forceCloseConnections: "idle",
    return503OnClosing: true,
  });
  const service = new Service(models, o, new ServeMetrics());

  // Bodies reach the routes as bytes: binary tensor data is not JSON, and JSON errors get the OIP error object.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
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
  app.addHook("onResponse", async (req, reply) => {
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
  });

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
  registerRoutes(app, service);
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
  return { app, service, close };
}
