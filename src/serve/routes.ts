/**
 * The Open Inference Protocol's REST routes (inference_rest.md), the model repository index
 * (extension_model_repository.md), `/metrics` and `/openapi.json`, as a table: method, path, schema
 * (route-schemas.ts, for the OpenAPI document) and a named handler. Bodies are parsed by infer-request.ts (binary
 * bodies are not JSON), so request validation is off where there is a body.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ServeError } from "./errors.ts";
import { parseInferRequest } from "./infer-request.ts";
import { modelMetadata } from "./model-info.ts";
import { SCHEMAS } from "./route-schemas.ts";
import type { Service } from "./service.ts";

export const SERVER_NAME = "ercnn";
export const SERVER_VERSION = "0.1.0";
export const EXTENSIONS = ["binary_tensor_data", "classification", "model_repository(index)"];

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the infer route for the access log and metrics. */
    infer?: { model: string; batch?: number; id?: string };
  }
}

export interface RouteOptions {
  /** Largest JSON the infer route parses (a JSON body or a binary request's header), bytes. */
  jsonLimit: number;
}

type Req = FastifyRequest<{ Params: { name: string }; Body: Buffer | undefined }>;
type Handler = (ctx: { svc: Service; app: FastifyInstance; o: RouteOptions }, req: Req, reply: FastifyReply) => unknown;

interface Route {
  method: "GET" | "POST";
  url: string;
  schema: object;
  handler: Handler;
}

const ROUTES: Route[] = [
  { method: "GET", url: "/v2/health/live", schema: SCHEMAS.live, handler: () => ({ live: true }) },
  { method: "GET", url: "/v2/health/ready", schema: SCHEMAS.ready, handler: serverReady },
  {
    method: "GET",
    url: "/v2",
    schema: SCHEMAS.server,
    handler: () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS }),
  },
  {
    method: "GET",
    url: "/v2/models/:name",
    schema: SCHEMAS.model,
    handler: ({ svc }, req) => modelMetadata(svc.model(req.params.name), svc.o.maxBatch),
  },
  { method: "GET", url: "/v2/models/:name/ready", schema: SCHEMAS.modelReady, handler: modelReady },
  { method: "POST", url: "/v2/models/:name/infer", schema: SCHEMAS.infer, handler: infer },
  { method: "POST", url: "/v2/repository/index", schema: SCHEMAS.repositoryIndex, handler: repositoryIndex },
  { method: "GET", url: "/metrics", schema: SCHEMAS.metrics, handler: metrics },
  { method: "GET", url: "/openapi.json", schema: SCHEMAS.openapi, handler: ({ app }) => app.swagger() },
];

const noValidation = () => () => true;

export function registerRoutes(app: FastifyInstance, svc: Service, o: RouteOptions): void {
  for (const r of ROUTES)
    app.route({
      method: r.method,
      url: r.url,
      schema: r.schema,
      ...(r.method === "POST" ? { validatorCompiler: noValidation } : {}),
      handler: async (req, reply) => r.handler({ svc, app, o }, req as Req, reply),
    });
}

function serverReady({ svc }: { svc: Service }, _req: Req, reply: FastifyReply) {
  const ready = svc.ready && !svc.closing;
  return reply.code(ready ? 200 : 503).send({ ready });
}

function modelReady({ svc }: { svc: Service }, req: Req) {
  return { name: svc.model(req.params.name).name, ready: svc.ready && !svc.closing };
}

async function infer({ svc, o }: { svc: Service; o: RouteOptions }, req: Req, reply: FastifyReply) {
  const model = svc.model(req.params.name);
  req.infer = { model: model.name };
  if (svc.closing) throw new ServeError(503, "server is shutting down");
  const parsed = parseInferRequest(
    { body: req.body ?? Buffer.alloc(0), contentType: String(req.headers["content-type"] ?? ""), headers: req.headers },
    model,
    svc.o.maxBatch,
    o.jsonLimit,
  );
  req.infer = { model: model.name, batch: parsed.n, ...(parsed.id !== undefined ? { id: parsed.id } : {}) };
  const r = await svc.infer(model, parsed);
  return reply.headers(r.headers).type(r.contentType).send(r.body);
}

function repositoryIndex({ svc }: { svc: Service }, req: Req) {
  let onlyReady = false;
  if (req.body && req.body.length > 0) {
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString("utf8"));
    } catch (e) {
      throw new ServeError(400, `repository index request is not valid JSON (${(e as Error).message})`);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new ServeError(400, "repository index request must be a JSON object");
    const r = (body as { ready?: unknown }).ready;
    if (r !== undefined && typeof r !== "boolean") throw new ServeError(400, `"ready" must be a boolean`);
    onlyReady = r === true;
  }
  const state = svc.loadError ? "UNAVAILABLE" : svc.ready ? "READY" : "LOADING";
  const reason = svc.loadError?.message ?? "";
  return [...svc.models.keys()].filter(() => !onlyReady || state === "READY").map((name) => ({ name, state, reason }));
}

async function metrics({ svc }: { svc: Service }, _req: Req, reply: FastifyReply) {
  return reply.type(svc.metrics.registry.contentType).send(await svc.metrics.text());
}

/** Infer requests are counted once they are answered (success, or failure by status). */
export function recordInfer(svc: Service, req: FastifyRequest, reply: FastifyReply): void {
  if (req.infer) svc.record(req.infer.model, reply.statusCode, reply.elapsedTime / 1000);
}
